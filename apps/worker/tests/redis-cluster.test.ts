import { hasRedisServer, startRedisCluster, testPrefix, type TestRedisCluster } from '@conveyor/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse, waitFor, waitForRunStatus } from './harness.ts';
import { type InfrastructureStack, serverInstalled, startInfrastructureStack, twoStepRunSucceeded, writerEditorPipeline } from './infrastructure-stack.ts';

const json = async (response: Response): Promise<any> => response.json();

describe.runIf(serverInstalled(hasRedisServer(), 'redis-server', 'the Redis Cluster test'))('on a three-master Redis Cluster', () => {
  const prefix = testPrefix('cluster');
  let cluster: TestRedisCluster;
  let stack: InfrastructureStack;

  beforeAll(async () => {
    cluster = await startRedisCluster();
    // REDIS_URL names a node that does not exist: with REDIS_CLUSTER_NODES set, only the cluster is used.
    stack = await startInfrastructureStack(
      prefix,
      { REDIS_CLUSTER_NODES: cluster.nodes, REDIS_URL: 'redis://127.0.0.1:1' },
      { api: { API_RATE_LIMIT: '1000/m' }, worker: { PROVIDER_CONCURRENCY: 'anthropic=2,openai=2' } },
    );
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await cluster?.close();
  });

  it('takes a run from submit through its live events to its webhook, with queues, streams, limits and counters on the cluster', async () => {
    const { api, receiver } = stack;
    const pipelineId = await writerEditorPipeline(api, 'clustered');
    const submitted = await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'harbour lights', webhookUrl: receiver.url });
    expect(submitted.status, await submitted.clone().text()).toBe(202);
    expect(submitted.headers.get('ratelimit-remaining')).not.toBeNull();
    const runId = (await json(submitted)).id as string;

    const events = await readSse(await api.call('GET', `/v1/runs/${runId}/events`));
    expect(events.map((event) => event.event).filter((type) => type !== 'step.delta')).toEqual(twoStepRunSucceeded);
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

  it('fires a schedule and runs a delayed run on the cluster', async () => {
    const { api } = stack;
    const pipelineId = await writerEditorPipeline(api, 'clustered later');
    const delayed = await json(await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'a delayed tide', delaySeconds: 1 }));
    expect(delayed).toMatchObject({ status: 'queued', scheduledFor: expect.any(String) });

    const schedule = await api.call('POST', `/v1/pipelines/${pipelineId}/schedules`, { cron: '* * * * * *', input: 'every second' });
    expect(schedule.status, await schedule.clone().text()).toBe(201);
    const scheduleId = (await json(schedule)).id as string;
    const fired = await waitFor(
      async () => api.deps.db.run.findFirst({ where: { scheduleId, status: 'succeeded' }, select: { id: true, scheduledFor: true } }),
      20_000,
      'a run of the schedule',
    );
    expect((await api.call('DELETE', `/v1/schedules/${scheduleId}`)).status).toBe(204);
    expect(fired.scheduledFor).not.toBeNull();

    await waitForRunStatus(api.deps.db, delayed.id, ['succeeded']);
  });

  it('cancels a running run through pub/sub on the cluster', async () => {
    const { api, emulator } = stack;
    const slow = await json(await api.call('POST', '/v1/agents', { name: 'slow', model: 'claude-sonnet-4-6' }));
    const pipeline = await json(await api.call('POST', '/v1/pipelines', { name: 'to cancel', steps: [{ agentId: slow.id }] }));
    emulator.script({ provider: 'anthropic', latencyMs: 30_000 });
    const runId = (await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'a long story' }))).id as string;
    await waitForRunStatus(api.deps.db, runId, ['running']);
    expect((await api.call('POST', `/v1/runs/${runId}/cancel`)).status).toBe(200);
    await waitForRunStatus(api.deps.db, runId, ['canceled'], 10_000);
  });
});
