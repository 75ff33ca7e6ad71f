import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approvalTimeoutJobId, compareEventIds, createRedis, readRunEvents, runEventsKey } from '@conveyor/core';
import { startTestReceiver, testPrefix, type TestReceiver } from '@conveyor/core/testing';
import { createTestApi, type TestApi } from '@conveyor/api/test-support';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { deleteKeys, spawnWorker, stopWorker, waitFor, workerEnv, type WorkerHandle } from './harness.ts';

const json = async (response: Response): Promise<any> => response.json();

describe('approval steps, through the API and worker processes', () => {
  const prefix = testPrefix('approval');
  const redis = createRedis(process.env.REDIS_URL!);
  let emulator: Emulator;
  let receiver: TestReceiver;
  let api: TestApi;
  let worker: WorkerHandle | undefined;
  let writerId: string;
  let editorId: string;

  const startApi = () => createTestApi({ REDIS_PREFIX: prefix, ...emulator.providerEnv() });
  const startWorker = (extra: Record<string, string> = {}) =>
    spawnWorker(workerEnv(prefix, emulator, { WORKER_CONCURRENCY: '1', WEBHOOK_ALLOW_PRIVATE: 'true', ...extra }));

  const createPipeline = async (steps: unknown[], extra: Record<string, unknown> = {}): Promise<string> => {
    const response = await api.call('POST', '/v1/pipelines', { name: 'reviewed', steps, ...extra });
    expect(response.status, await response.clone().text()).toBe(201);
    return (await json(response)).id;
  };
  const submit = async (pipelineId: string, input: unknown = 'lighthouses'): Promise<string> => {
    const response = await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input });
    expect(response.status, await response.clone().text()).toBe(202);
    return (await json(response)).id;
  };
  const getRun = async (runId: string) => json(await api.call('GET', `/v1/runs/${runId}`));
  const runReaches = (runId: string, statuses: string[], timeoutMs = 20_000) =>
    waitFor(async () => {
      const run = await getRun(runId);
      return statuses.includes(run.status) ? run : undefined;
    }, timeoutMs, `run ${runId} to be ${statuses.join('|')}`);
  const reviewed = (approval: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    createPipeline(
      [{ agentId: writerId }, { type: 'approval', instructions: 'Check the draft', ...approval }, { agentId: editorId, prompt: 'Edit: {{previous}}' }],
      extra,
    );
  const requestsMentioning = (text: string) => emulator.requests.filter((request) => JSON.stringify(request.body).includes(text));

  beforeAll(async () => {
    emulator = await startEmulator();
    receiver = await startTestReceiver();
    api = startApi();
    worker = await startWorker();
    const writer = await api.call('POST', '/v1/agents', { name: 'writer', model: 'gpt-4o' });
    expect(writer.status, await writer.clone().text()).toBe(201);
    writerId = (await json(writer)).id;
    editorId = (await json(await api.call('POST', '/v1/agents', { name: 'editor', model: 'claude-sonnet-4-5' }))).id;
  });

  afterAll(async () => {
    await stopWorker(worker);
    await api?.close();
    await receiver?.close();
    await emulator?.close();
    redis.disconnect();
  });

  it('a waiting run holds no worker slot (WORKER_CONCURRENCY=1 finishes another run meanwhile); approving with an edited output feeds it to the next step', async () => {
    const pipelineId = await reviewed({}, { webhookUrl: receiver.url });
    const runId = await submit(pipelineId, 'lighthouses of Brittany');
    const waiting = await runReaches(runId, ['waiting']);
    expect(waiting.waiting).toMatchObject({ index: 1 });
    expect(waiting.steps[1]).toMatchObject({ type: 'approval', agentId: null, status: 'waiting', instructions: 'Check the draft' });
    expect(waiting.steps[1].output).toBe(waiting.steps[0].output);

    const event = await waitFor(async () => (await readRunEvents(redis, prefix, runId)).find((candidate) => candidate.type === 'run.waiting'), 20_000, 'run.waiting');
    expect(event.data).toEqual({ index: 1, output: waiting.steps[0].output });
    // The events clients saw stay in Redis for the wait (no timeout: 30 days), not just a running run's TTL.
    expect(await waitFor(async () => ((await redis.ttl(runEventsKey(prefix, runId))) > 29 * 24 * 3600 ? true : undefined), 20_000, 'the waiting TTL')).toBe(true);
    const hook = await waitFor(async () => receiver.received.find((received) => JSON.parse(received.body).type === 'run.waiting'), 20_000, 'the run.waiting webhook');
    expect(hook.headers['webhook-id']).toBe(`msg_${runId}_waiting_1`);
    expect(JSON.parse(hook.body).data).toMatchObject({ id: runId, status: 'waiting', waiting: { index: 1 } });

    const other = await submit(await createPipeline([{ agentId: writerId }]), 'meanwhile');
    await runReaches(other, ['succeeded']);
    expect((await getRun(runId)).status).toBe('waiting');

    const approved = await api.call('POST', `/v1/runs/${runId}/approve`, { comment: 'tightened it', output: 'THE EDITED DRAFT' });
    expect(approved.status, await approved.clone().text()).toBe(200);
    const done = await runReaches(runId, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    expect(done.steps[1]).toMatchObject({ status: 'succeeded', output: 'THE EDITED DRAFT', decision: { decision: 'approved', comment: 'tightened it' } });
    expect(done.steps[1].decision.by).toMatch(/^api:[0-9a-f]{12}$/);
    expect(requestsMentioning('Edit: THE EDITED DRAFT')).toHaveLength(1);
    expect(requestsMentioning('lighthouses of Brittany').filter((request) => request.body.model === 'gpt-4o')).toHaveLength(1);

    const again = await api.call('POST', `/v1/runs/${runId}/approve`);
    expect(again.status).toBe(409);
    expect((await json(again)).error.code).toBe('conflict');
  }, 60_000);

  it('keeps what clients saw before the wait in Postgres: a stream that expires during the wait loses none of it, and the run ends with its whole history', async () => {
    const runId = await submit(await reviewed(), 'a long wait');
    await runReaches(runId, ['waiting']);
    const history = async (): Promise<any[] | undefined> => (await api.deps.db.runEventHistory.findUnique({ where: { runId } }))?.events as any[] | undefined;
    const kept = await waitFor(async () => ((await history())?.at(-1)?.type === 'run.waiting' ? history() : undefined), 20_000, 'the history kept at the pause');
    const seen = (await readRunEvents(redis, prefix, runId)).filter((event) => event.type !== 'step.delta');
    expect(kept).toEqual(seen);
    expect(kept!.map((event) => event.type)).toEqual(['run.started', 'step.started', 'step.completed', 'run.waiting']);

    // The wait outlasted the stream.
    await redis.del(runEventsKey(prefix, runId));
    const approved = await api.call('POST', `/v1/runs/${runId}/approve`);
    expect(approved.status, await approved.clone().text()).toBe(200);
    expect((await runReaches(runId, ['succeeded', 'failed'])).status).toBe('succeeded');
    const whole = await waitFor(async () => ((await history())?.at(-1)?.type === 'run.succeeded' ? history() : undefined), 20_000, 'the history kept at the end');
    expect(whole!.slice(0, kept!.length)).toEqual(kept);
    expect(whole!.slice(kept!.length).map((event) => event.type)).toContain('step.started');
    const ids = whole!.map((event) => event.id as string);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort(compareEventIds));
  }, 60_000);

  it('reject ends the run failed with `rejected` and keeps the decision; cancel ends a waiting run at once', async () => {
    const pipelineId = await reviewed();
    const rejected = await submit(pipelineId);
    await runReaches(rejected, ['waiting']);
    const response = await api.call('POST', `/v1/runs/${rejected}/reject`, { comment: 'off topic' });
    expect(response.status).toBe(200);
    const run = await json(response);
    expect(run).toMatchObject({ status: 'failed', error: { code: 'rejected', step: 1 } });
    expect(run.steps[1]).toMatchObject({ status: 'failed', decision: { decision: 'rejected', comment: 'off topic' } });
    expect(run.steps[2].status).toBe('canceled');
    expect((await api.call('POST', `/v1/runs/${rejected}/reject`)).status).toBe(409);

    const canceled = await submit(pipelineId);
    await runReaches(canceled, ['waiting']);
    const cancel = await api.call('POST', `/v1/runs/${canceled}/cancel`);
    expect(await json(cancel)).toMatchObject({ status: 'canceled' });
    expect((await api.call('POST', `/v1/runs/${canceled}/approve`)).status).toBe(409);
  }, 60_000);

  it('a timeout decides: onTimeout "approve" goes on, the default rejects', async () => {
    const approving = await submit(await reviewed({ timeoutSeconds: 1, onTimeout: 'approve' }));
    const rejecting = await submit(await reviewed({ timeoutSeconds: 1 }));
    const approved = await runReaches(approving, ['succeeded', 'failed']);
    expect(approved.status).toBe('succeeded');
    expect(approved.steps[1].decision).toMatchObject({ decision: 'approved', by: 'timeout', timedOut: true });
    const rejected = await runReaches(rejecting, ['succeeded', 'failed']);
    expect(rejected).toMatchObject({ status: 'failed', error: { code: 'rejected', step: 1 } });
    expect(rejected.steps[1].decision).toMatchObject({ decision: 'rejected', by: 'timeout', timedOut: true });
  }, 60_000);

  it('time spent waiting does not count toward maxDurationSeconds', async () => {
    const runId = await submit(await reviewed({}, { maxDurationSeconds: 30 }));
    await runReaches(runId, ['waiting']);
    // As if it had started an hour ago and waited ever since.
    await api.deps.db.$executeRaw`UPDATE runs SET started_at = now() - interval '1 hour', waiting_since = now() - interval '1 hour' WHERE id = ${runId}`;
    expect((await api.call('POST', `/v1/runs/${runId}/approve`)).status).toBe(200);
    const done = await runReaches(runId, ['succeeded', 'failed']);
    expect(done.status).toBe('succeeded');
    const row = await api.deps.db.run.findUniqueOrThrow({ where: { id: runId } });
    expect(Number(row.waitedMs)).toBeGreaterThanOrEqual(3_600_000);
    // The run's snapshot keeps its approval step like any other.
    expect((row.snapshot as { steps: unknown[] }).steps[1]).toMatchObject({ type: 'approval', agentId: null, approval: { instructions: 'Check the draft' } });
  }, 60_000);

  it('a waiting run survives restarts of the worker and the API and the loss of Redis data; the reconciler re-creates its timeout but never re-enqueues it', async () => {
    const untimed = await submit(await reviewed(), 'survivor one');
    const timed = await submit(await reviewed({ timeoutSeconds: 3, onTimeout: 'approve' }), 'survivor two');
    await runReaches(untimed, ['waiting']);
    await runReaches(timed, ['waiting']);
    await stopWorker(worker);
    await api.close();
    await deleteKeys(redis, prefix);

    api = startApi();
    expect(await api.deps.runsQueue.getJobState(approvalTimeoutJobId(timed, 1))).toBe('unknown');
    worker = await startWorker({ RECONCILE_INTERVAL_SECONDS: '1' });

    // Only the reconciler can have brought the timeout back.
    const timedOut = await runReaches(timed, ['succeeded', 'failed']);
    expect(timedOut.status).toBe('succeeded');
    expect(timedOut.steps[1].decision).toMatchObject({ by: 'timeout', timedOut: true });
    expect((await getRun(untimed)).status).toBe('waiting');
    expect(await api.deps.runsQueue.getJobState(untimed)).toBe('unknown');

    expect((await api.call('POST', `/v1/runs/${untimed}/approve`)).status).toBe(200);
    expect((await runReaches(untimed, ['succeeded', 'failed'])).status).toBe('succeeded');
    // The writer (step 0) was called once: nothing ran again after the restarts.
    expect(requestsMentioning('survivor one').filter((request) => request.body.model === 'gpt-4o')).toHaveLength(1);
  }, 90_000);
});
