import { createTestApi, type TestApi } from '@conveyor/api/test-support';
import { hasPgbouncer, startPgbouncer, startTestReceiver, testPrefix, type TestPgbouncer, type TestReceiver } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse, spawnWorker, stopWorker, waitFor, waitForRunStatus, workerEnv, type WorkerHandle } from './harness.ts';

const json = async (response: Response): Promise<any> => response.json();

// CI installs pgbouncer (.ci/run); a developer machine without it skips this file, saying so.
const available = hasPgbouncer();
if (!available) {
  if (process.env.CI) throw new Error('pgbouncer is not installed: the PgBouncer test needs it (apt-get install pgbouncer)');
  console.warn('pgbouncer is not installed: skipping the PgBouncer test');
}

describe.runIf(available)('through PgBouncer in transaction pooling', () => {
  const prefix = testPrefix('pgbouncer');
  let pgbouncer: TestPgbouncer;
  let emulator: Emulator;
  let receiver: TestReceiver;
  let api: TestApi;
  let worker: WorkerHandle;

  beforeAll(async () => {
    // Two server connections for the API's and the worker's fifteen clients: every statement
    // may land on a server connection another client used last.
    pgbouncer = await startPgbouncer(process.env.DATABASE_URL!, { serverConnections: 2 });
    emulator = await startEmulator({ tokensPerSecond: 400 });
    receiver = await startTestReceiver();
    const databaseEnv = { DATABASE_URL: pgbouncer.urlFor(process.env.DATABASE_URL!), DATABASE_TRANSACTION_POOLER: 'true', REDIS_PREFIX: prefix };
    api = createTestApi({ ...databaseEnv, ...emulator.providerEnv() });
    worker = await spawnWorker(workerEnv(prefix, emulator, { ...databaseEnv, WEBHOOK_ALLOW_PRIVATE: 'true', RECONCILE_INTERVAL_SECONDS: '1' }));
  }, 60_000);

  afterAll(async () => {
    await stopWorker(worker);
    await api?.close();
    await receiver?.close();
    await emulator?.close();
    await pgbouncer?.close();
  });

  it('runs pipelines end to end, API and worker both on the pooler: events, artifacts, costs and the webhook', async () => {
    const writer = await json(await api.call('POST', '/v1/agents', { name: 'writer', model: 'claude-sonnet-4-6' }));
    const editor = await json(await api.call('POST', '/v1/agents', { name: 'editor', model: 'gpt-4o' }));
    const pipeline = await json(await api.call('POST', '/v1/pipelines', { name: 'pooled', steps: [{ agentId: writer.id }, { agentId: editor.id }] }));
    const submit = (input: string, headers: Record<string, string> = {}) =>
      api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input, webhookUrl: receiver.url }, headers);

    const submitted = await Promise.all(['one', 'two', 'three', 'four', 'five'].map(async (input) => {
      const response = await submit(input, { 'idempotency-key': `pooled-${input}` });
      expect(response.status, await response.clone().text()).toBe(202);
      return (await json(response)).id as string;
    }));
    // The same idempotency key answers with the same run, whichever server connection reads it.
    expect((await json(await submit('one', { 'idempotency-key': 'pooled-one' }))).id).toBe(submitted[0]);

    const events = await readSse(await api.call('GET', `/v1/runs/${submitted[0]}/events`));
    expect(events.map((event) => event.event).filter((type) => type !== 'step.delta')).toEqual([
      'run.started',
      'step.started',
      'step.completed',
      'step.started',
      'step.completed',
      'run.succeeded',
    ]);
    for (const runId of submitted) await waitForRunStatus(api.deps.db, runId, ['succeeded'], 30_000);

    const runs = await Promise.all(submitted.map(async (runId) => json(await api.call('GET', `/v1/runs/${runId}`))));
    for (const run of runs) {
      expect(run.artifactId).toBeTruthy();
      expect(Number(run.cost)).toBeGreaterThan(0);
    }
    await waitFor(async () => submitted.every((runId) => receiver.received.some((hook) => JSON.parse(hook.body).data?.id === runId)), 20_000, 'every webhook');
    const day = 86_400_000;
    const spend = await api.call('GET', `/v1/spend?from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}&groupBy=model`);
    expect(spend.status, await spend.clone().text()).toBe(200);
    expect((await json(spend)).groups.map((group: { model: string }) => group.model).sort()).toEqual(['claude-sonnet-4-6', 'gpt-4o']);
    expect(pgbouncer.output()).not.toMatch(/prepared statement/i);
  });
});
