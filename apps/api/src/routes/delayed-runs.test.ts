import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const json = async (res: Response) => (await res.json()) as any;

async function newPipeline() {
  const agent = await json(await api.call('POST', '/v1/agents', { name: 'a', model: 'claude-haiku-4-5' }));
  return json(await api.call('POST', '/v1/pipelines', { name: 'delayed', steps: [{ agentId: agent.id }] }));
}

describe('delayed runs', () => {
  it('queues a run with delaySeconds as a delayed job due at scheduledFor, shown in GET and lists', async () => {
    const pipeline = await newPipeline();
    const before = Date.now();
    const res = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'later', delaySeconds: 3600, ttlSeconds: 60 });
    expect(res.status).toBe(202);
    const run = await json(res);
    expect(run.status).toBe('queued');
    const due = Date.parse(run.scheduledFor);
    expect(due).toBeGreaterThanOrEqual(before + 3600_000);
    expect(due).toBeLessThanOrEqual(Date.now() + 3600_000);

    expect(await api.deps.runsQueue.getJobState(run.id)).toBe('delayed');
    const job = await api.deps.runsQueue.getJob(run.id);
    expect(job!.timestamp + job!.delay).toBeGreaterThanOrEqual(due - 50);
    expect(job!.timestamp + job!.delay).toBeLessThanOrEqual(due + 50);

    expect(await json(await api.call('GET', `/v1/runs/${run.id}`))).toEqual(run);
    const list = await json(await api.call('GET', `/v1/runs?pipelineId=${pipeline.id}`));
    expect(list.data[0]).toMatchObject({ id: run.id, scheduledFor: run.scheduledFor });
  });

  it('queues a run with runAt until that time', async () => {
    const pipeline = await newPipeline();
    const runAt = new Date(Date.now() + 7 * 24 * 3600_000);
    const run = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x', runAt: runAt.toISOString().replace('Z', '+00:00') }));
    expect(run.scheduledFor).toBe(runAt.toISOString());
    expect(await api.deps.runsQueue.getJobState(run.id)).toBe('delayed');
  });

  it('runs at once a run whose runAt has passed, keeping that time as scheduledFor', async () => {
    const pipeline = await newPipeline();
    const runAt = new Date(Date.now() - 60_000).toISOString();
    const run = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x', runAt }));
    expect(run).toMatchObject({ status: 'queued', scheduledFor: runAt });
    expect(await api.deps.runsQueue.getJobState(run.id)).toBe('waiting');
  });

  it('has no scheduledFor on a run due at once', async () => {
    const pipeline = await newPipeline();
    const run = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }));
    expect(run).not.toHaveProperty('scheduledFor');
  });

  it('refuses runAt with delaySeconds, a runAt that is not a time, and delays out of range, with 400', async () => {
    const pipeline = await newPipeline();
    const cases = [
      { body: { input: 'x', runAt: new Date().toISOString(), delaySeconds: 5 }, says: 'runAt or delaySeconds' },
      { body: { input: 'x', runAt: 'tomorrow' }, says: 'runAt' },
      { body: { input: 'x', runAt: '2999-01-01T00:00:00Z' }, says: '366 days' },
      { body: { input: 'x', delaySeconds: -1 }, says: 'delaySeconds' },
      { body: { input: 'x', delaySeconds: 1.5 }, says: 'delaySeconds' },
    ];
    for (const { body, says } of cases) {
      const res = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      const error = (await json(res)).error;
      expect(error.code).toBe('validation_error');
      expect(error.message).toContain(says);
    }
    expect(await api.deps.db.run.count({ where: { pipelineId: pipeline.id } })).toBe(0);
  });

  it('cancels a delayed run before it is due: canceled at once, its delayed job removed', async () => {
    const pipeline = await newPipeline();
    const run = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x', delaySeconds: 600 }));
    const res = await api.call('POST', `/v1/runs/${run.id}/cancel`);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ status: 'canceled', scheduledFor: run.scheduledFor });
    expect(await api.deps.runsQueue.getJobState(run.id)).toBe('unknown');
  });
});
