import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createDatabase, type Database } from '@conveyor/core';
import { createRedis } from '@conveyor/core';
import type { RunJobData } from '@conveyor/core';
import { createRunsQueue, enqueueRun } from '@conveyor/core';
import { testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPipeline, createRun, deleteKeys, spawnWorker, stopWorker, waitForRunStatus, workerEnv, type WorkerHandle } from './harness.ts';

const LIMIT = 2;
const RUNS = 8;

describe('PROVIDER_CONCURRENCY across two worker processes', () => {
  const prefix = testPrefix('limit');
  let emulator: Emulator;
  let db: Database;
  let redis: Redis;
  let runsQueue: Queue<RunJobData>;
  const workers: WorkerHandle[] = [];

  beforeAll(async () => {
    // Each call takes long enough that, unlimited, all runs would overlap at the emulator.
    emulator = await startEmulator({ latencyMs: 400 });
    db = createDatabase(process.env.DATABASE_URL!, { max: 3 });
    redis = createRedis(process.env.REDIS_URL!);
    runsQueue = createRunsQueue(redis, prefix);
    const env = workerEnv(prefix, emulator, { PROVIDER_CONCURRENCY: `anthropic=${LIMIT}`, WORKER_CONCURRENCY: '5', RECONCILE_INTERVAL_SECONDS: '0' });
    workers.push(...(await Promise.all([spawnWorker(env), spawnWorker(env)])));
  });

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await runsQueue?.close();
    if (redis) await deleteKeys(redis, prefix);
    await redis?.quit();
    await db?.$disconnect();
    await emulator?.close();
  });

  it('keeps the calls in flight to the provider at the emulator at or under the limit, while both workers run runs', async () => {
    const fixture = await createPipeline(db, [{ model: 'claude-sonnet-4-5' }]);
    const runIds = await Promise.all(Array.from({ length: RUNS }, (_, i) => createRun(db, fixture, `burst ${i}`)));
    await Promise.all(runIds.map((runId) => enqueueRun(runsQueue, { runId })));
    for (const runId of runIds) await waitForRunStatus(db, runId, ['succeeded'], 60_000);

    const anthropicCalls = emulator.requests.filter((request) => request.provider === 'anthropic');
    expect(anthropicCalls).toHaveLength(RUNS);
    expect(emulator.inFlight().anthropic.max).toBe(LIMIT);

    // Ten worker slots for eight runs: without the shared limit, far more than two calls would overlap.
    const ranBy = workers.map((worker) => worker.logs.filter((line) => line.msg === 'run ended' && runIds.includes(line.runId as string)).length);
    expect(ranBy.every((count) => count > 0)).toBe(true);
    expect(ranBy.reduce((a, b) => a + b, 0)).toBe(RUNS);

    expect(await redis.zcard(`${prefix}:provider-slots:anthropic`)).toBe(0);
  }, 90_000);
});
