import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '../../db/client.ts';
import { newId } from '../../ids.ts';
import { createRedis } from '../../queue/connection.ts';
import { testConfig, testRunEngine, type TestRunEngine } from '../../../testkit/index.ts';

/** A delayed run waits as a BullMQ delayed job; Postgres keeps when it is due. */
describe('RunEngine delayed runs', () => {
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  let emulator: Emulator;
  let engine: TestRunEngine['engine'];
  let runsQueue: TestRunEngine['runsQueue'];
  let close: TestRunEngine['close'];
  /** The engine's clock, for the ttl checks. */
  let clock: Date | undefined;

  beforeAll(async () => {
    emulator = await startEmulator();
    const config = testConfig({ ...emulator.providerEnv(), PROVIDER_MAX_RETRIES: '0' });
    ({ engine, runsQueue, close } = testRunEngine({ db, redis, config }, { now: () => clock ?? new Date() }));
  });

  afterAll(async () => {
    await close?.();
    redis.disconnect();
    await db.$disconnect();
    await emulator.close();
  });

  async function submitDelayed(scheduledFor: Date, ttlSeconds?: number) {
    const agent = await db.agent.create({ data: { id: newId('agt'), name: 'a', model: 'claude-haiku-4-5' } });
    const pipeline = await db.pipeline.create({ data: { id: newId('pip'), name: 'delayed', steps: { create: [{ index: 0, agentId: agent.id }] } } });
    const submitted = await engine.submit({ pipelineId: pipeline.id, input: 'hello', scheduledFor, ...(ttlSeconds ? { ttlSeconds } : {}) });
    return submitted.runId;
  }

  const dueAt = async (runId: string) => {
    const job = await runsQueue.getJob(runId);
    return job!.timestamp + job!.delay;
  };

  it('stores scheduledFor and enqueues a delayed job due then', async () => {
    const scheduledFor = new Date(Date.now() + 3_600_000);
    const runId = await submitDelayed(scheduledFor);
    expect((await db.run.findUniqueOrThrow({ where: { id: runId } })).scheduledFor).toEqual(scheduledFor);
    expect(await runsQueue.getJobState(runId)).toBe('delayed');
    expect(Math.abs((await dueAt(runId)) - scheduledFor.getTime())).toBeLessThan(50);
  });

  it('reconcile leaves a delayed job alone and re-creates a lost one with the time left', async () => {
    const scheduledFor = new Date(Date.now() + 3_600_000);
    const kept = await submitDelayed(scheduledFor);
    const lost = await submitDelayed(scheduledFor);
    const keptJob = await runsQueue.getJob(kept);
    await runsQueue.remove(lost);
    expect(await runsQueue.getJobState(lost)).toBe('unknown');

    await engine.reconcile({ graceMs: 0 });

    expect(await runsQueue.getJobState(kept)).toBe('delayed');
    expect((await runsQueue.getJob(kept))!.timestamp).toBe(keptJob!.timestamp);
    expect(await runsQueue.getJobState(lost)).toBe('delayed');
    expect(Math.abs((await dueAt(lost)) - scheduledFor.getTime())).toBeLessThan(50);
  });

  it('reconcile enqueues a lost delayed run that is due by now to run at once', async () => {
    const runId = await submitDelayed(new Date(Date.now() + 3_600_000));
    await runsQueue.remove(runId);
    await db.run.update({ where: { id: runId }, data: { scheduledFor: new Date(Date.now() - 1000) } });
    await engine.reconcile({ graceMs: 0 });
    expect(await runsQueue.getJobState(runId)).toBe('waiting');
  });

  it('counts the ttl from scheduledFor, not from submission', async () => {
    const scheduledFor = new Date(Date.now() + 600_000);
    const onTime = await submitDelayed(scheduledFor, 60);
    const late = await submitDelayed(scheduledFor, 60);
    try {
      // Ten minutes after submission, 30 s after it was due: within its ttl.
      clock = new Date(scheduledFor.getTime() + 30_000);
      expect(await engine.execute(onTime, new AbortController().signal)).toMatchObject({ status: 'succeeded' });
      clock = new Date(scheduledFor.getTime() + 61_000);
      expect(await engine.execute(late, new AbortController().signal)).toMatchObject({ status: 'failed', error: { code: 'expired' } });
    } finally {
      clock = undefined;
    }
  });

  it('cancels a delayed run at once and removes its job', async () => {
    const runId = await submitDelayed(new Date(Date.now() + 3_600_000));
    expect(await engine.cancel(runId)).toBe('canceled');
    expect(await runsQueue.getJobState(runId)).toBe('unknown');
    expect((await db.run.findUniqueOrThrow({ where: { id: runId } })).status).toBe('canceled');
  });
});
