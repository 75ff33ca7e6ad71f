import { createTestApi, type TestApi } from '@conveyor/api/test-support';
import { hasRedisServer, startRedisCluster, startTestReceiver, testPrefix, type TestReceiver, type TestRedisCluster } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse, spawnWorker, stopWorker, waitFor, waitForRunStatus, workerEnv, type WorkerHandle } from './harness.ts';

const json = async (response: Response): Promise<any> => response.json();

// CI installs redis-server (.ci/run); a developer machine without it skips this file, saying so.
const available = hasRedisServer();
if (!available) {
  if (process.env.CI) throw new Error('redis-server is not installed: the Redis Cluster test needs it (apt-get install redis-server)');
  console.warn('redis-server is not installed: skipping the Redis Cluster test');
}

describe.runIf(available)('on a three-master Redis Cluster', () => {
  const prefix = testPrefix('cluster');
  let cluster: TestRedisCluster;
  let emulator: Emulator;
  let receiver: TestReceiver;
  let api: TestApi;
  let worker: WorkerHandle;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    emulator = await startEmulator({ tokensPerSecond: 400 });
    receiver = await startTestReceiver();
    // REDIS_URL names a node that does not exist: with REDIS_CLUSTER_NODES set, only the cluster is used.
    const redisEnv = { REDIS_CLUSTER_NODES: cluster.nodes, REDIS_URL: 'redis://127.0.0.1:1', REDIS_PREFIX: prefix };
    api = createTestApi({ ...redisEnv, ...emulator.providerEnv(), API_RATE_LIMIT: '1000/m' });
    worker = await spawnWorker(
      workerEnv(prefix, emulator, { ...redisEnv, PROVIDER_CONCURRENCY: 'anthropic=2,openai=2', WEBHOOK_ALLOW_PRIVATE: 'true', RECONCILE_INTERVAL_SECONDS: '1' }),
    );
  }, 60_000);

  afterAll(async () => {
    await stopWorker(worker);
    await api?.close();
    await receiver?.close();
    await emulator?.close();
    await cluster?.close();
  });

  it('takes a run from submit through its live events to its webhook, with queues, streams, limits and counters on the cluster', async () => {
    const writer = await json(await api.call('POST', '/v1/agents', { name: 'writer', model: 'claude-sonnet-4-6' }));
    const editor = await json(await api.call('POST', '/v1/agents', { name: 'editor', model: 'gpt-4o' }));
    const pipeline = await json(await api.call('POST', '/v1/pipelines', { name: 'clustered', steps: [{ agentId: writer.id }, { agentId: editor.id }] }));
    const submitted = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'harbour lights', webhookUrl: receiver.url });
    expect(submitted.status, await submitted.clone().text()).toBe(202);
    expect(submitted.headers.get('ratelimit-remaining')).not.toBeNull();
    const runId = (await json(submitted)).id as string;

    const events = await readSse(await api.call('GET', `/v1/runs/${runId}/events`));
    expect(events.map((event) => event.event).filter((type) => type !== 'step.delta')).toEqual([
      'run.started',
      'step.started',
      'step.completed',
      'step.started',
      'step.completed',
      'run.succeeded',
    ]);
    expect(events.some((event) => event.event === 'step.delta')).toBe(true);
    await waitForRunStatus(api.deps.db, runId, ['succeeded']);

    const delivered = await waitFor(async () => receiver.received.find((hook) => JSON.parse(hook.body).data?.id === runId), 20_000, 'the webhook');
    expect(JSON.parse(delivered.body).type).toBe('run.succeeded');

    const metrics = await waitFor(async () => {
      const text = await (await api.app.request('/metrics')).text();
      return /^conveyor_deployment_runs_total\{status="succeeded"\} 1$/m.test(text) && text;
    }, 10_000, 'the deployment counter');
    expect(metrics).toContain('conveyor_deployment_runs_total');
  });

  it('cancels a running run through pub/sub on the cluster', async () => {
    const slow = await json(await api.call('POST', '/v1/agents', { name: 'slow', model: 'claude-sonnet-4-6' }));
    const pipeline = await json(await api.call('POST', '/v1/pipelines', { name: 'to cancel', steps: [{ agentId: slow.id }] }));
    emulator.script({ provider: 'anthropic', latencyMs: 30_000 });
    const runId = (await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'a long story' }))).id as string;
    await waitForRunStatus(api.deps.db, runId, ['running']);
    expect((await api.call('POST', `/v1/runs/${runId}/cancel`)).status).toBe(200);
    await waitForRunStatus(api.deps.db, runId, ['canceled'], 10_000);
  });
});
