import { afterAll, describe, expect, it } from 'vitest';
import { cancelChannel, duplicateRedis, RunEngine, runEventsKey } from '@conveyor/core';
import { createApp } from '../app.ts';
import { createTestApi, TEST_TOKEN } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const json = async (res: Response) => (await res.json()) as any;

async function newPipeline(stepCount = 2) {
  const agents = [];
  for (let i = 0; i < stepCount; i++) agents.push(await json(await api.call('POST', '/v1/agents', { name: `a${i}`, model: 'claude-haiku-4-5' })));
  const pipeline = await json(await api.call('POST', '/v1/pipelines', { name: 'p', steps: agents.map((a) => ({ agentId: a.id })) }));
  return { pipeline, agents };
}

describe('run submission', () => {
  it('stores a queued run with pending steps and enqueues a job whose id is the run id', async () => {
    const { pipeline, agents } = await newPipeline();
    const res = await api.call(
      'POST',
      `/v1/pipelines/${pipeline.id}/runs`,
      { input: { topic: 'tides' }, metadata: { user: 'u1' }, ttlSeconds: 60, webhookUrl: 'http://127.0.0.1:9/hook' },
      { 'x-request-id': 'req-submit-1' },
    );
    expect(res.status).toBe(202);
    const run = await json(res);
    expect(run).toMatchObject({
      pipelineId: pipeline.id,
      status: 'queued',
      input: { topic: 'tides' },
      metadata: { user: 'u1' },
      usage: { inputTokens: 0, outputTokens: 0 },
      cost: null,
      steps: [
        { index: 0, agentId: agents[0].id, status: 'pending', warnings: [] },
        { index: 1, agentId: agents[1].id, status: 'pending', warnings: [] },
      ],
    });
    expect(run.id).toMatch(/^run_/);
    expect(Date.parse(run.createdAt)).not.toBeNaN();

    const job = await api.deps.runsQueue.getJob(run.id);
    expect(job?.data).toEqual({ runId: run.id, requestId: 'req-submit-1' });
    const row = await api.deps.db.run.findUniqueOrThrow({ where: { id: run.id } });
    expect(row).toMatchObject({ ttlSeconds: 60, requestId: 'req-submit-1', webhookUrl: 'http://127.0.0.1:9/hook' });
    expect(await json(await api.call('GET', `/v1/runs/${run.id}`))).toEqual(run);
  });

  it('refuses an orphaned pipeline with 409 pipeline_orphaned, storing and enqueueing nothing', async () => {
    const { pipeline, agents } = await newPipeline();
    await api.call('DELETE', `/v1/agents/${agents[1].id}`);
    const before = await api.deps.runsQueue.getJobCounts();
    const res = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }, { 'idempotency-key': 'orphan-1' });
    expect(res.status).toBe(409);
    expect((await json(res)).error).toMatchObject({ code: 'pipeline_orphaned', details: { missingAgentIds: [agents[1].id] } });
    expect(await api.deps.db.run.count({ where: { pipelineId: pipeline.id } })).toBe(0);
    expect(await api.deps.runsQueue.getJobCounts()).toEqual(before);
  });

  it('refuses an Idempotency-Key that is empty or longer than 255 characters with 400 naming the header, storing nothing', async () => {
    const { pipeline } = await newPipeline(1);
    for (const key of ['', 'k'.repeat(256)]) {
      const res = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }, { 'idempotency-key': key });
      expect(res.status).toBe(400);
      const { error } = await json(res);
      expect(error.code).toBe('validation_error');
      expect(error.message).toMatch(/^header\.idempotency-key: /);
    }
    expect(await api.deps.db.run.count({ where: { pipelineId: pipeline.id } })).toBe(0);
    expect((await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }, { 'idempotency-key': 'k'.repeat(255) })).status).toBe(202);
  });

  it('answers 404 for an unknown pipeline', async () => {
    const res = await api.call('POST', '/v1/pipelines/pip_nope/runs', { input: 'x' });
    expect(res.status).toBe(404);
    expect((await json(res)).error.code).toBe('not_found');
  });

  it('gives one run for 20 concurrent submissions with the same idempotency key', async () => {
    const { pipeline } = await newPipeline(1);
    const responses = await Promise.all(
      Array.from({ length: 20 }, () =>
        api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'same' }, { 'idempotency-key': 'burst-key' }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 202)).toHaveLength(1);
    expect(statuses.filter((s) => s === 200)).toHaveLength(19);
    const ids = new Set(await Promise.all(responses.map(async (r) => (await json(r)).id)));
    expect(ids.size).toBe(1);
    expect(await api.deps.db.run.count({ where: { pipelineId: pipeline.id } })).toBe(1);
    const [runId] = [...ids];
    expect(await api.deps.runsQueue.getJob(runId as string)).toBeTruthy();
  });

  it('lets the same idempotency key start runs of different pipelines', async () => {
    const [a, b] = [(await newPipeline(1)).pipeline, (await newPipeline(1)).pipeline];
    const first = await api.call('POST', `/v1/pipelines/${a.id}/runs`, { input: 1 }, { 'idempotency-key': 'shared' });
    const second = await api.call('POST', `/v1/pipelines/${b.id}/runs`, { input: 1 }, { 'idempotency-key': 'shared' });
    expect([first.status, second.status]).toEqual([202, 202]);
  });
});

describe('run budgets', () => {
  it("stores the run's maxCostUsd, else its pipeline's, and shows it on the run", async () => {
    const { pipeline } = await newPipeline(1);
    const noBudget = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }));
    expect(noBudget.maxCostUsd).toBeNull();

    expect((await api.call('PATCH', `/v1/pipelines/${pipeline.id}`, { maxCostUsd: '2.50' })).status).toBe(200);
    expect(await json(await api.call('GET', `/v1/pipelines/${pipeline.id}`))).toMatchObject({ maxCostUsd: '2.5' });
    const inherited = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }));
    expect(inherited.maxCostUsd).toBe('2.5');
    const own = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x', maxCostUsd: '0.000125' }));
    expect(own.maxCostUsd).toBe('0.000125');
    expect(await json(await api.call('GET', `/v1/runs/${own.id}`))).toMatchObject({ maxCostUsd: '0.000125' });
    expect(await json(await api.call('GET', `/v1/runs/${inherited.id}`))).toMatchObject({ maxCostUsd: '2.5' });
  });

  it('refuses a budget that is not a plain decimal amount of dollars', async () => {
    const { pipeline } = await newPipeline(1);
    for (const maxCostUsd of ['-1', '1e3', 'ten', '0.0000000000001', 1]) {
      const res = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x', maxCostUsd });
      expect(res.status, String(maxCostUsd)).toBe(400);
      expect((await json(res)).error.code).toBe('validation_error');
    }
    expect((await api.call('POST', '/v1/pipelines', { name: 'p', steps: pipeline.steps.map((s: { agentId: string }) => ({ agentId: s.agentId })), maxCostUsd: '1,5' })).status).toBe(400);
  });
});

describe('run submission under concurrency', () => {
  it('answers each of many concurrent submissions to good, orphaned and missing pipelines correctly', async () => {
    const good = (await newPipeline(2)).pipeline;
    const orphan = await newPipeline(1);
    await api.call('DELETE', `/v1/agents/${orphan.agents[0].id}`);
    const requests = Array.from({ length: 30 }, (_, i) => {
      const target = [good.id, orphan.pipeline.id, 'pip_missing'][i % 3]!;
      const headers: Record<string, string> = i % 6 === 0 ? { 'idempotency-key': 'mixed-key' } : {};
      return api.call('POST', `/v1/pipelines/${target}/runs`, { input: i }, headers).then(async (r) => ({ target, i, status: r.status, body: await json(r) }));
    });
    const results = await Promise.all(requests);
    for (const r of results.filter((x) => x.target === orphan.pipeline.id)) expect(r.status).toBe(409);
    for (const r of results.filter((x) => x.target === 'pip_missing')) expect(r.status).toBe(404);
    const goodResults = results.filter((x) => x.target === good.id);
    const keyed = goodResults.filter((x) => x.i % 6 === 0);
    expect(keyed.filter((x) => x.status === 202)).toHaveLength(1);
    expect(new Set(keyed.map((x) => x.body.id)).size).toBe(1);
    for (const r of goodResults.filter((x) => x.i % 6 !== 0)) {
      expect(r.status).toBe(202);
      expect(r.body.steps).toHaveLength(2);
    }
    expect(await api.deps.db.run.count({ where: { pipelineId: good.id } })).toBe(goodResults.length - keyed.length + 1);
  });

  it('answers 202 and leaves the run queued for the reconciler when enqueueing fails', async () => {
    const { pipeline } = await newPipeline(1);
    const down = () => Promise.reject(new Error('redis is down'));
    const brokenQueue = { add: down, addBulk: down } as unknown as typeof api.deps.runsQueue;
    const engine = new RunEngine({ ...api.deps, runsQueue: brokenQueue });
    const app = createApp({ ...api.deps, runsQueue: brokenQueue, engine });
    const res = await app.request(`/v1/pipelines/${pipeline.id}/runs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'x' }),
    });
    expect(res.status).toBe(202);
    const run = await json(res);
    expect((await api.deps.db.run.findUniqueOrThrow({ where: { id: run.id } })).status).toBe('queued');
    expect(api.logs()).toContain('the run stays queued for the reconciler');
    await engine.close();
  });
});

describe('run listing', () => {
  it('filters by pipeline and status, newest first', async () => {
    const { pipeline } = await newPipeline(1);
    const ids = [];
    for (let i = 0; i < 3; i++) ids.push((await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: i }))).id);
    await api.call('POST', `/v1/runs/${ids[1]}/cancel`);

    const all = await json(await api.call('GET', `/v1/runs?pipelineId=${pipeline.id}`));
    expect(all.data.map((r: any) => r.id)).toEqual([...ids].reverse());
    expect(all.nextCursor).toBeNull();
    const canceled = await json(await api.call('GET', `/v1/runs?pipelineId=${pipeline.id}&status=canceled`));
    expect(canceled.data.map((r: any) => r.id)).toEqual([ids[1]]);
  });
});

describe('run cancel', () => {
  it('cancels a queued run: marked canceled, job removed, run.canceled emitted', async () => {
    const { pipeline } = await newPipeline();
    const run = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }));
    const res = await api.call('POST', `/v1/runs/${run.id}/cancel`);
    expect(res.status).toBe(200);
    const canceled = await json(res);
    expect(canceled.status).toBe('canceled');
    expect(canceled.finishedAt).toBeTruthy();
    expect(canceled.steps.map((s: any) => s.status)).toEqual(['canceled', 'canceled']);
    expect(await api.deps.runsQueue.getJob(run.id)).toBeUndefined();
    const eventsKey = runEventsKey(api.deps.config.REDIS_PREFIX, run.id);
    const events = await api.deps.redis.xrange(eventsKey, '-', '+');
    expect(events.map(([, fields]) => fields[1])).toEqual(['run.canceled']);
    const ttl = await api.deps.redis.ttl(eventsKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(api.deps.config.RUN_EVENTS_RETENTION_SECONDS);
  });

  it('flags a running run and tells the workers on the cancel channel', async () => {
    const { pipeline } = await newPipeline(1);
    const run = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }));
    await api.deps.db.run.update({ where: { id: run.id }, data: { status: 'running', startedAt: new Date() } });

    const subscriber = duplicateRedis(api.deps.redis);
    const received = new Promise<string>((resolve) => subscriber.on('message', (_channel, message) => resolve(message)));
    await subscriber.subscribe(cancelChannel(api.deps.config.REDIS_PREFIX));
    try {
      const res = await api.call('POST', `/v1/runs/${run.id}/cancel`);
      expect(res.status).toBe(200);
      expect((await json(res)).status).toBe('running');
      expect(await received).toBe(run.id);
      const row = await api.deps.db.run.findUniqueOrThrow({ where: { id: run.id } });
      expect(row.cancelRequested).toBe(true);
    } finally {
      await subscriber.quit();
    }
  });

  it('answers 409 for a run that has ended and 404 for an unknown run', async () => {
    const { pipeline } = await newPipeline(1);
    const run = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }));
    await api.deps.db.run.update({ where: { id: run.id }, data: { status: 'succeeded', finishedAt: new Date() } });
    const res = await api.call('POST', `/v1/runs/${run.id}/cancel`);
    expect(res.status).toBe(409);
    expect((await json(res)).error).toMatchObject({ code: 'conflict', details: { status: 'succeeded' } });
    expect((await api.call('POST', '/v1/runs/run_nope/cancel')).status).toBe(404);
  });
});
