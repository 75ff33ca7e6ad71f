import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@conveyor/core';
import { readRunEvents } from '@conveyor/core';
import { createRedis } from '@conveyor/core';
import { createRunsQueue, enqueueRun } from '@conveyor/core';
import { createLogger } from '@conveyor/core';
import { testConfig, testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import {
  createPipeline,
  createRun,
  deleteKeys,
  spawnWorker,
  stopWorker,
  waitFor,
  waitForRunStatus,
  workerEnv,
  type WorkerHandle,
} from './harness.ts';
import { startWorkerProcess } from '../src/worker-process.ts';

/** Worker processes that are killed, drained and restarted; each test has its own Redis prefix. */
describe('worker processes', () => {
  let emulator: Emulator;
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  const workers: WorkerHandle[] = [];
  const queues: ReturnType<typeof createRunsQueue>[] = [];

  const spawn = async (prefix: string, extra: Record<string, string> = {}) => {
    const worker = await spawnWorker(workerEnv(prefix, emulator, extra));
    workers.push(worker);
    return worker;
  };
  const queueFor = (prefix: string) => {
    const queue = createRunsQueue(redis, prefix);
    queues.push(queue);
    return queue;
  };

  beforeAll(async () => {
    emulator = await startEmulator();
  });

  afterEach(async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
    emulator.reset();
  });

  afterAll(async () => {
    for (const queue of queues) {
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
    }
    redis.disconnect();
    await db.$disconnect();
    await emulator?.close();
  });

  it('SIGKILL of the worker holding a run: another worker completes it with one artifact, without re-calling finished steps', async () => {
    const prefix = testPrefix('kill');
    const fixture = await createPipeline(db, [{ model: 'claude-sonnet-4-6' }, { model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'survive a crash');
    emulator.script({ provider: 'openai', latencyMs: 60_000 });
    const doomed = await spawn(prefix);
    await enqueueRun(queueFor(prefix), { runId });
    await waitFor(
      async () => (await db.runStep.findUnique({ where: { runId_index: { runId, index: 1 } } }))?.status === 'running',
      20_000,
      'step 1 to start',
    );
    await spawn(prefix);
    doomed.kill('SIGKILL');
    await doomed.exited;

    const run = await waitForRunStatus(db, runId, ['succeeded'], 45_000);
    expect(await db.artifact.count({ where: { runId } })).toBe(1);
    expect(run.attempts).toBeGreaterThanOrEqual(2);
    const calls = emulator.requests.map((request) => request.provider);
    expect(calls.filter((provider) => provider === 'anthropic')).toHaveLength(1);
    expect(calls.filter((provider) => provider === 'openai').length).toBeGreaterThanOrEqual(2);
    const types = (await readRunEvents(redis, prefix, runId)).map((event) => event.type);
    expect(types.filter((type) => type === 'run.started')).toHaveLength(1);
    expect(types.at(-1)).toBe('run.succeeded');
  }, 90_000);

  it('SIGTERM drains: the run in flight finishes, no new run is taken, the process exits 0', async () => {
    const prefix = testPrefix('term');
    const queue = queueFor(prefix);
    const fixture = await createPipeline(db, [{ model: 'gpt-4o' }]);
    const inFlight = await createRun(db, fixture, 'finish me');
    const later = await createRun(db, fixture, 'not me');
    emulator.script({ provider: 'openai', latencyMs: 2000 });
    const worker = await spawn(prefix, { WORKER_SHUTDOWN_GRACE_SECONDS: '30' });
    await enqueueRun(queue, { runId: inFlight });
    await waitForRunStatus(db, inFlight, ['running']);

    worker.kill('SIGTERM');
    await waitFor(async () => worker.logs.some((line) => String(line.msg).startsWith('draining')), 10_000, 'draining');
    await enqueueRun(queue, { runId: later });
    expect(await worker.exited).toBe(0);

    expect((await db.run.findUniqueOrThrow({ where: { id: inFlight } })).status).toBe('succeeded');
    expect((await db.run.findUniqueOrThrow({ where: { id: later } })).status).toBe('queued');
  }, 60_000);

  it('SIGTERM with a run outlasting the grace period hands it back to the queue, and another worker completes it', async () => {
    const prefix = testPrefix('grace');
    const fixture = await createPipeline(db, [{ model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'too slow');
    emulator.script({ provider: 'openai', latencyMs: 60_000 });
    const worker = await spawn(prefix, { WORKER_SHUTDOWN_GRACE_SECONDS: '1' });
    await enqueueRun(queueFor(prefix), { runId });
    await waitForRunStatus(db, runId, ['running']);
    worker.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    expect((await db.run.findUniqueOrThrow({ where: { id: runId } })).status).toBe('running');

    await spawn(prefix);
    const run = await waitForRunStatus(db, runId, ['succeeded'], 20_000);
    expect(await db.artifact.count({ where: { runId } })).toBe(1);
    expect(run.attempts).toBe(2);
  }, 60_000);

  it('Redis loses its data while runs are queued: the reconciler re-enqueues them from Postgres and they complete', async () => {
    const prefix = testPrefix('flush');
    const queue = queueFor(prefix);
    const fixture = await createPipeline(db, [{ model: 'gpt-4o' }]);
    const runIds = [await createRun(db, fixture, 'one'), await createRun(db, fixture, 'two'), await createRun(db, fixture, 'three')];
    for (const runId of runIds) await enqueueRun(queue, { runId });
    // Past the reconciler's grace for runs that the API may be enqueueing right now.
    await db.$executeRaw`UPDATE runs SET updated_at = now() - interval '1 minute' WHERE id = ANY(${runIds})`;
    expect(await deleteKeys(redis, prefix)).toBeGreaterThan(0);
    expect(await queue.getJobCounts('wait')).toEqual({ wait: 0 });

    const config = testConfig({ ...workerEnv(prefix, emulator), RECONCILE_INTERVAL_SECONDS: '1' });
    const worker = await startWorkerProcess(config, createLogger({ level: 'silent' }));
    try {
      for (const runId of runIds) await waitForRunStatus(db, runId, ['succeeded']);
      expect(await db.artifact.count({ where: { runId: { in: runIds } } })).toBe(3);
    } finally {
      await worker.close(1000);
    }
  }, 60_000);
});
