import { createEndedRun, deleteRuns } from '@conveyor/core/webhooks/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
const created: Array<{ runId: string; pipelineId: string }> = [];

afterAll(async () => {
  await deleteRuns(api.deps.db, created);
  await api.close();
});

describe('GET /v1/runs/:id/webhook-deliveries', () => {
  it('lists every attempt of the run, oldest first', async () => {
    const run = await createEndedRun(api.deps.db, { webhookUrl: 'http://127.0.0.1:9/hook' });
    created.push(run);
    const eventId = `msg_${run.runId}_succeeded`;
    const base = { runId: run.runId, eventId, eventType: 'run.succeeded', url: 'http://127.0.0.1:9/hook' };
    await api.deps.db.webhookDelivery.createMany({
      data: [
        { ...base, id: `whd_b_${run.runId}`, attempt: 2, statusCode: 200, durationMs: 12, outcome: 'succeeded', attemptedAt: new Date('2026-01-01T00:00:05Z') },
        { ...base, id: `whd_a_${run.runId}`, attempt: 1, error: 'connect ECONNREFUSED 127.0.0.1:9', durationMs: 3, outcome: 'failed', attemptedAt: new Date('2026-01-01T00:00:00Z') },
      ],
    });

    const res = await api.call('GET', `/v1/runs/${run.runId}/webhook-deliveries`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      data: [
        { ...base, id: `whd_a_${run.runId}`, attempt: 1, statusCode: null, error: 'connect ECONNREFUSED 127.0.0.1:9', durationMs: 3, outcome: 'failed', attemptedAt: '2026-01-01T00:00:00.000Z' },
        { ...base, id: `whd_b_${run.runId}`, attempt: 2, statusCode: 200, error: null, durationMs: 12, outcome: 'succeeded', attemptedAt: '2026-01-01T00:00:05.000Z' },
      ],
    });
  });

  it('answers an empty list for a run without deliveries', async () => {
    const run = await createEndedRun(api.deps.db);
    created.push(run);

    const res = await api.call('GET', `/v1/runs/${run.runId}/webhook-deliveries`);

    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ data: [] });
  });

  it('answers 404 for an unknown run', async () => {
    const res = await api.call('GET', '/v1/runs/run_unknown/webhook-deliveries');

    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'not_found' } });
  });
});
