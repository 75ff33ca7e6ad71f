import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { testPrefix } from '@conveyor/core/testing';
import { freePort } from '@conveyor/core';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const TOKEN = 'cli-test-token-0123456789';

export interface Stack {
  apiUrl: string;
  emulator: Emulator;
  /** Output of the API and worker, for failure messages. */
  logs(): string;
  stop(): Promise<void>;
}


/** The LLM emulator in process, one API process and one worker process, on their own Redis prefix. */
export async function startStack(): Promise<Stack> {
  const emulator = await startEmulator();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    REDIS_PREFIX: testPrefix('cli'),
    API_TOKENS: TOKEN,
    ADMIN_USER: 'admin',
    ADMIN_PASSWORD: 'cli-test-password',
    ENCRYPTION_KEY: '0f'.repeat(32),
    WEBHOOK_SECRET: `whsec_${Buffer.from('cli-test-webhook-secret-32-bytes').toString('base64')}`,
    WEBHOOK_ALLOW_PRIVATE: 'true',
    ...emulator.providerEnv('emulated-key'),
    HOST: '127.0.0.1',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    LOG_FORMAT: 'json',
  };
  let output = '';
  const children: ChildProcess[] = ['apps/api/src/server.ts', 'apps/worker/src/main.ts'].map((script) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    return child;
  });
  const stack: Stack = {
    apiUrl: `http://127.0.0.1:${port}`,
    emulator,
    logs: () => output,
    async stop() {
      await Promise.all(
        children.map(
          (child) =>
            new Promise<void>((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', () => resolve());
              child.kill('SIGTERM');
              setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
            }),
        ),
      );
      await emulator.close();
    },
  };

  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (children.some((child) => child.exitCode !== null)) break;
    if (await fetch(`${stack.apiUrl}/readyz`).then((r) => r.ok, () => false)) return stack;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await stack.stop();
  throw new Error(`the API did not become ready:\n${output}`);
}
