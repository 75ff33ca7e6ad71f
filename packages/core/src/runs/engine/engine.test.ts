import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/client.ts';
import { eventsFromDatabaseAfter, storedRunInclude } from '../../events/from-database.ts';
import { runEventsKey } from '../../events/keys.ts';
import { readRunEvents } from '../../events/replay.ts';
import { newId } from '../../ids.ts';
import { clusterCountersRegistry } from '../../metrics/cluster-counters.ts';
import { Metrics } from '../../metrics/metrics.ts';
import { createRedis } from '../../queue/connection.ts';
import { testConfig, testRunEngine, type TestRunEngine } from '../../../testkit/index.ts';
import { runEndEvent } from '../../webhooks/payload.ts';
import pg from 'pg';
import { RunAlreadyEndedError, RunNotFoundError, RunStateChangingError } from './errors.ts';
import { afterCancelRequest, CANCEL_ROUNDS } from './termination.ts';

/** Every way a run ends produces its effects once, through the outbox, whoever ends it. */
describe('RunEngine run ends', () => {
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  const metrics = new Metrics();
  let emulator: Emulator;
  let engine: TestRunEngine['engine'];
  let config: ReturnType<typeof testConfig>;
  let webhooksQueue: TestRunEngine['webhooksQueue'];
  let runsQueue: TestRunEngine['runsQueue'];
  let close: TestRunEngine['close'];

  beforeAll(async () => {
    emulator = await startEmulator();
    config = testConfig({ ...emulator.providerEnv(), PROVIDER_MAX_RETRIES: '0' });
    ({ engine, runsQueue, webhooksQueue, close } = testRunEngine({ db, redis, config }, { metrics }));
  });

  afterAll(async () => {
    await close?.();
    redis.disconnect();
    await db.$disconnect();
    await emulator.close();
  });

  async function submit(models: string[], webhookUrl?: string) {
    const agentIds = [];
    for (const model of models) agentIds.push((await db.agent.create({ data: { id: newId('agt'), name: 'a', model } })).id);
    const pipeline = await db.pipeline.create({
      data: { id: newId('pip'), name: 'ends', steps: { create: agentIds.map((agentId, index) => ({ index, agentId })) } },
    });
    const submitted = await engine.submit({ pipelineId: pipeline.id, input: 'hello', ...(webhookUrl ? { webhookUrl } : {}) });
    return { runId: submitted.runId, agentIds };
  }

  const finished = async (status: string) =>
    ((await metrics.registry.getSingleMetric('conveyor_runs_finished_total')!.get()).values.find((value) => value.labels.status === status)?.value ?? 0);
  const terminalEvents = async (runId: string) =>
    (await readRunEvents(redis, config.REDIS_PREFIX, runId)).filter((event) => event.type.startsWith('run.') && event.type !== 'run.started');
  const outbox = (runId: string) => db.runOutbox.findMany({ where: { runId } });

  it('succeeded: one terminal event, one metrics count, the webhook enqueued once, the outbox row kept until delivery', async () => {
    const before = await finished('succeeded');
    const { runId } = await submit(['claude-haiku-4-5'], 'http://127.0.0.1:9/hook');
    expect(await engine.execute(runId, new AbortController().signal)).toMatchObject({ status: 'succeeded' });
    expect(await engine.execute(runId, new AbortController().signal)).toEqual({ status: 'skipped' });

    expect((await terminalEvents(runId)).map((event) => event.type)).toEqual(['run.succeeded']);
    expect((await finished('succeeded')) - before).toBe(1);
    expect(await webhooksQueue.getJobState(runEndEvent(runId, 'succeeded').id)).not.toBe('unknown');
    // Marked done a moment after the effects, together with other runs' marks.
    await expect.poll(() => outbox(runId)).toMatchObject([{ event: 'run.succeeded', effectsDoneAt: expect.any(Date) }]);
  });

  it('canceled while queued (in the API) and failed (in a worker): one terminal event and one count each, nothing owed after', async () => {
    const [canceledBefore, failedBefore] = [await finished('canceled'), await finished('failed')];
    const queued = await submit(['gpt-4o']);
    expect(await engine.cancel(queued.runId)).toBe('canceled');
    await expect(engine.cancel(queued.runId)).rejects.toBeInstanceOf(RunAlreadyEndedError);
    await expect(engine.cancel('run_missing')).rejects.toBeInstanceOf(RunNotFoundError);
    expect(await runsQueue.getJobState(queued.runId)).toBe('unknown');

    const orphan = await submit(['gpt-4o']);
    await db.agent.delete({ where: { id: orphan.agentIds[0]! } });
    expect(await engine.execute(orphan.runId, new AbortController().signal)).toMatchObject({ status: 'failed', error: { code: 'pipeline_orphaned' } });
    expect(await engine.fail(orphan.runId, { code: 'internal_error', message: 'late' })).toBe(false);

    expect((await terminalEvents(queued.runId)).map((event) => event.type)).toEqual(['run.canceled']);
    expect((await terminalEvents(orphan.runId)).map((event) => event.type)).toEqual(['run.failed']);
    expect((await finished('canceled')) - canceledBefore).toBe(1);
    expect((await finished('failed')) - failedBefore).toBe(1);
    await expect.poll(() => outbox(queued.runId)).toEqual([]);
    await expect.poll(() => outbox(orphan.runId)).toEqual([]);
    expect(emulator.requests).toHaveLength(1);

    // The deployment's counters (what the API's /metrics serves) saw every end of this file's runs, once,
    // sent together after at most a second.
    const deployment = () => clusterCountersRegistry(redis, config.REDIS_PREFIX).metrics();
    await expect.poll(deployment, { timeout: 10_000 }).toContain('conveyor_deployment_runs_total{status="failed"} 1');
    const text = await deployment();
    expect(text).toContain('conveyor_deployment_runs_total{status="succeeded"} 1');
    expect(text).toContain('conveyor_deployment_runs_total{status="canceled"} 1');
    expect(text).toContain('conveyor_deployment_runs_total{status="failed"} 1');
    expect(text).toMatch(/conveyor_deployment_tokens_total\{provider="anthropic",model="claude-haiku-4-5",type="input"\} \d+/);
    expect(text).toMatch(/conveyor_deployment_cost_usd_total\{provider="anthropic",model="claude-haiku-4-5"\} 0\.0000\d+/);
  });

  it('cancels a running run that starts waiting while its cancel flag is being written: it tries again, as a waiting run', async () => {
    const { runId } = await submit(['claude-haiku-4-5']);
    await db.run.update({ where: { id: runId }, data: { status: 'running', startedAt: new Date() } });
    const other = new pg.Client({ connectionString: process.env.DATABASE_URL });
    await other.connect();
    try {
      await other.query('BEGIN');
      await other.query('SELECT 1 FROM runs WHERE id = $1 FOR UPDATE', [runId]);
      const canceled = engine.cancel(runId);
      // The flag statement waits for the row (seen from another connection: a transaction sees one snapshot of the activity); meanwhile the run starts waiting.
      await expect
        .poll(async () => (await db.$queryRaw<{ n: number }[]>`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%cancel_requested = true%'`)[0]!.n, { timeout: 15_000 })
        .toBe(1);
      await other.query(`UPDATE runs SET status = 'waiting', waiting_since = now() WHERE id = $1`, [runId]);
      await other.query('COMMIT');
      expect(await canceled).toBe('canceled');
    } finally {
      await other.end();
    }
    expect(await db.run.findUniqueOrThrow({ where: { id: runId } })).toMatchObject({ status: 'canceled', cancelRequested: true });
    expect((await terminalEvents(runId)).map((event) => event.type)).toEqual(['run.canceled']);
  });

  it('after a cancel flag statement: a run seen queued, running or waiting is tried again, an ended one refused, a restless one reported', () => {
    for (const status of ['queued', 'running', 'waiting'] as const) expect(afterCancelRequest('run_x', status, false, 1)).toBe('retry');
    expect(afterCancelRequest('run_x', 'running', true, 1)).toBe('requested');
    for (const status of ['succeeded', 'failed', 'canceled'] as const) expect(() => afterCancelRequest('run_x', status, false, 1)).toThrow(RunAlreadyEndedError);
    expect(() => afterCancelRequest('run_x', undefined, false, 1)).toThrow(RunNotFoundError);
    expect(() => afterCancelRequest('run_x', 'waiting', false, CANCEL_ROUNDS)).toThrow(RunStateChangingError);
  });

  it('keeps the history with its live ids once the stream has expired, so Last-Event-ID still resumes exactly', async () => {
    const { runId } = await submit(['claude-haiku-4-5', 'gpt-4o']);
    await engine.execute(runId, new AbortController().signal);
    const live = (await readRunEvents(redis, config.REDIS_PREFIX, runId)).filter((event) => event.type !== 'step.delta');
    await redis.del(runEventsKey(config.REDIS_PREFIX, runId));

    const stored = await db.run.findUniqueOrThrow({ where: { id: runId }, include: storedRunInclude });
    expect(eventsFromDatabaseAfter(stored)).toEqual(live);
    const middle = live[2]!;
    expect(eventsFromDatabaseAfter(stored, middle.id)).toEqual(live.slice(3));
    expect(live.map((event) => event.type)).toEqual(['run.started', 'step.started', 'step.completed', 'step.started', 'step.completed', 'run.succeeded']);
  });
});
