import { createEndedRun, deleteRuns } from '@conveyor/core/testing';
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

describe('POST /v1/runs/:id/webhook-deliveries/redeliver', () => {
  const redeliver = (runId: string) => api.call('POST', `/v1/runs/${runId}/webhook-deliveries/redeliver`);

  it('enqueues the end event of an ended run whose delivery job was lost', async () => {
    const run = await createEndedRun(api.deps.db, { webhookUrl: 'https://example.com/hook' });
    created.push(run);
    const eventId = `msg_${run.runId}_succeeded`;

    const res = await redeliver(run.runId);

    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ runId: run.runId, eventId, enqueued: true, mode: 'now' });
    const job = await api.deps.webhooksQueue.getJob(eventId);
    expect(job?.data).toEqual({ runId: run.runId, eventId, eventType: 'run.succeeded' });
    await job?.remove();
  });

  it('attempts an event that is waiting for its next retry now', async () => {
    const run = await createEndedRun(api.deps.db, { status: 'failed', pipelineWebhookUrl: 'https://example.com/hook' });
    created.push(run);
    const eventId = `msg_${run.runId}_failed`;
    await api.deps.webhooksQueue.add('run.failed', { runId: run.runId, eventId, eventType: 'run.failed' }, { jobId: eventId, delay: 3_600_000 });
    expect(await (await api.deps.webhooksQueue.getJob(eventId))!.getState()).toBe('delayed');

    expect((await redeliver(run.runId)).status).toBe(202);

    expect(await (await api.deps.webhooksQueue.getJob(eventId))!.getState()).toBe('waiting');
    await (await api.deps.webhooksQueue.getJob(eventId))?.remove();
  });

  it('sends an event already delivered once more, as a job of its own with the same event id, once however often asked', async () => {
    const delivered = await createEndedRun(api.deps.db, { webhookUrl: 'https://example.com/hook' });
    created.push(delivered);
    const eventId = `msg_${delivered.runId}_succeeded`;
    await api.deps.db.webhookDelivery.create({
      data: {
        id: `whd_${delivered.runId}`,
        runId: delivered.runId,
        eventId,
        eventType: 'run.succeeded',
        url: 'https://example.com/hook',
        attempt: 1,
        statusCode: 204,
        durationMs: 5,
        outcome: 'succeeded',
      },
    });

    const first = await redeliver(delivered.runId);
    const second = await redeliver(delivered.runId);

    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ runId: delivered.runId, eventId, enqueued: true, mode: 'resend' });
    expect(second.status).toBe(202);
    const job = await api.deps.webhooksQueue.getJob(`${eventId}_resend1`);
    expect(job?.data).toEqual({ runId: delivered.runId, eventId, eventType: 'run.succeeded', resend: 1 });
    expect(job?.opts.attempts).toBe(1);
    expect(await api.deps.webhooksQueue.getJob(eventId)).toBeUndefined();
    expect((await api.deps.webhooksQueue.getJobs(['waiting', 'delayed'])).filter((queued) => queued.data.runId === delivered.runId)).toHaveLength(1);
    await job?.remove();
  });

  it('refuses with 409 a run without a webhook URL and a run still going', async () => {
    const withoutUrl = await createEndedRun(api.deps.db);
    const going = await createEndedRun(api.deps.db, { webhookUrl: 'https://example.com/hook' });
    created.push(withoutUrl, going);
    await api.deps.db.run.update({ where: { id: going.runId }, data: { status: 'running', finishedAt: null } });

    for (const [run, message] of [
      [withoutUrl, 'has no webhook URL'],
      [going, 'has not ended (running)'],
    ] as const) {
      const res = await redeliver(run.runId);
      expect(res.status).toBe(409);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('redelivery_refused');
      expect(body.error.message).toContain(message);
    }
  });

  it('answers 404 for an unknown run', async () => {
    expect((await redeliver('run_unknown')).status).toBe(404);
  });
});
