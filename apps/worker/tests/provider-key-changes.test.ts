import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPrefix } from '@conveyor/core/testing';
import { createTestApi, TEST_ENCRYPTION_KEY, type TestApi } from '@conveyor/api/test-support';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { spawnWorker, stopWorker, waitForRunStatus, workerEnv, type WorkerHandle } from './harness.ts';

const json = async (response: Response): Promise<any> => response.json();

describe('a provider key stored, then deleted, through the API while a worker process runs', () => {
  const prefix = testPrefix('keys');
  const storedKey = 'sk-stored-through-api-7777';
  let emulator: Emulator;
  let api: TestApi;
  let worker: WorkerHandle;
  let pipelineId: string;

  /** Submits a run and waits for its end: the status, and the error code when it failed. */
  async function runOnce(): Promise<{ status: string; code: string | undefined }> {
    const submitted = await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'keys' });
    expect(submitted.status, await submitted.clone().text()).toBe(202);
    const { id } = await json(submitted);
    await waitForRunStatus(api.deps.db, id, ['succeeded', 'failed']);
    const run = await json(await api.call('GET', `/v1/runs/${id}`));
    return { status: run.status, code: run.error?.code };
  }

  beforeAll(async () => {
    // The emulator takes only the key stored through the API; the workers' environment key is refused.
    emulator = await startEmulator({ apiKeys: [storedKey] });
    const environment = { REDIS_PREFIX: prefix, ENCRYPTION_KEY: TEST_ENCRYPTION_KEY, ...emulator.providerEnv('sk-environment-refused-0000') };
    api = createTestApi(environment);
    worker = await spawnWorker(workerEnv(prefix, emulator, environment));
    const agent = await json(await api.call('POST', '/v1/agents', { name: 'keyed writer', model: 'claude-sonnet-4-6' }));
    pipelineId = (await json(await api.call('POST', '/v1/pipelines', { name: 'keyed', steps: [{ agentId: agent.id }] }))).id;
  });

  afterAll(async () => {
    await stopWorker(worker);
    await api?.close();
    await emulator?.close();
  });

  it('uses the stored key from the next run on, and never again once it is deleted', async () => {
    expect(await runOnce()).toEqual({ status: 'failed', code: 'provider_error' });

    const stored = await api.call('PUT', '/v1/providers/anthropic/key', { apiKey: storedKey });
    expect(stored.status, await stored.clone().text()).toBe(200);
    expect(await runOnce()).toEqual({ status: 'succeeded', code: undefined });
    expect(await runOnce()).toEqual({ status: 'succeeded', code: undefined });

    const deleted = await api.call('DELETE', '/v1/providers/anthropic/key');
    expect(deleted.status).toBeLessThan(300);
    expect(await runOnce()).toEqual({ status: 'failed', code: 'provider_error' });
    const answered = emulator.requests.filter((request) => request.path.endsWith('/messages')).map((request) => request.status);
    expect(answered).toEqual([401, 200, 200, 401]);
  });
});
