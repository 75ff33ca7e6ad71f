import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase } from '@conveyor/core';
import { newId } from '@conveyor/core';
import { createLogger } from '@conveyor/core';
import { createRedis } from '@conveyor/core';
import { queuePrefix, RUNS_QUEUE } from '@conveyor/core';
import { createRunsQueue, runJobOptions, RUNS_QUEUE_EVENTS_MAX_LENGTH } from '@conveyor/core';
import { testConfig, testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { startWorkerProcess, type WorkerProcess } from '../src/worker-process.ts';
import { countKeys, createPipeline, waitFor, workerEnv } from './harness.ts';

const RUNS = 2000;

describe('Redis footprint', () => {
  const prefix = testPrefix('keys');
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  const queue = createRunsQueue(redis, prefix);
  let emulator: Emulator;
  let worker: WorkerProcess;

  beforeAll(async () => {
    emulator = await startEmulator({ maxRecordedRequests: 10 });
    const config = testConfig({ ...workerEnv(prefix, emulator), WORKER_CONCURRENCY: '50', RUN_EVENTS_RETENTION_SECONDS: '1' });
    worker = await startWorkerProcess(config, createLogger({ level: 'silent' }));
  });

  afterAll(async () => {
    await worker?.close(1000);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    redis.disconnect();
    await db.$disconnect();
    await emulator?.close();
  });

  it(`stays bounded after ${RUNS} runs: finished jobs and event streams leave Redis`, async () => {
    const fixture = await createPipeline(db, [{ model: 'gpt-4o' }]);
    const runIds = Array.from({ length: RUNS }, () => newId('run'));
    await db.run.createMany({ data: runIds.map((id) => ({ id, pipelineId: fixture.pipelineId, input: 'x' })) });
    await db.runStep.createMany({ data: runIds.map((runId) => ({ runId, index: 0, agentId: fixture.agentIds[0]! })) });
    for (let i = 0; i < runIds.length; i += 500) {
      await queue.addBulk(runIds.slice(i, i + 500).map((runId) => ({ name: 'run', data: { runId }, opts: { ...runJobOptions, jobId: runId } })));
    }

    await waitFor(
      async () => (await db.run.count({ where: { id: { in: runIds }, status: 'succeeded' } })) === RUNS,
      170_000,
      'every run to succeed',
    );
    expect(await db.artifact.count({ where: { runId: { in: runIds } } })).toBe(RUNS);

    // Event streams expire RUN_EVENTS_RETENTION_SECONDS after their run ends; BullMQ keeps the last
    // 200 completed jobs for the dashboard. Nothing else grows with the number of runs.
    const keptJobs = (runJobOptions.removeOnComplete as { count: number }).count;
    const keys = await waitFor(async () => {
      const count = await countKeys(redis, prefix);
      return count <= keptJobs + 20 ? count : undefined;
    }, 10_000, 'event streams to expire');
    expect(keys).toBeLessThanOrEqual(keptJobs + 20);
    // BullMQ's log of job transitions (several entries a run) is trimmed, in whole stream nodes of 100 entries.
    expect(await redis.xlen(`${queuePrefix(prefix)}:${RUNS_QUEUE}:events`)).toBeLessThanOrEqual(RUNS_QUEUE_EVENTS_MAX_LENGTH + 100);
  }, 200_000);
});
