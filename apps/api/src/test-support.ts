import { Writable } from 'node:stream';
import { createLogger } from '@conveyor/core';
import { testConfig } from '@conveyor/core/testing';
import { createApp } from './app.ts';
import type { ApiDeps } from './context.ts';
import { createApiDeps } from './deps.ts';

export const TEST_TOKEN = 'test-token-0123456789';
export const TEST_ENCRYPTION_KEY = '0f'.repeat(32);

export interface TestApi {
  app: ReturnType<typeof createApp>;
  deps: ApiDeps;
  /** Every log line written so far, as text. */
  logs: () => string;
  /** An authorised JSON request. */
  call: (method: string, path: string, body?: unknown, headers?: Record<string, string>) => Promise<Response>;
  close: () => Promise<void>;
}

/** The app over the test database and Redis, with its own Redis prefix and a captured log. */
export function createTestApi(env: Record<string, string> = {}): TestApi {
  const config = testConfig({
    API_TOKENS: `${TEST_TOKEN},second-token-abcdef`,
    ENCRYPTION_KEY: TEST_ENCRYPTION_KEY,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    ANTHROPIC_API_KEY: '',
    OPENAI_API_KEY: '',
    ...env,
  });
  let captured = '';
  const destination = new Writable({
    write(chunk, _encoding, done) {
      captured += chunk.toString();
      done();
    },
  });
  const logger = createLogger({ level: 'debug', destination });
  const deps = createApiDeps(config, logger, { poolSize: 5 });
  const app = createApp(deps);
  return {
    app,
    deps,
    logs: () => captured,
    call: async (method, path, body, headers = {}) =>
      app.request(path, {
        method,
        headers: {
          authorization: `Bearer ${TEST_TOKEN}`,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
      }),
    close: async () => {
      await deps.runsQueue.obliterate({ force: true }).catch(() => undefined);
      await deps.close();
    },
  };
}
