/**
 * Quick measurements of the run worker against the LLM emulator (not part of the test suite):
 *
 *   throughput  pipeline steps/s of one worker (in process, emulator answering instantly) next to
 *               no-op BullMQ jobs/s with the same worker settings, in the same run
 *   makespan    two worker processes x 100 runs at once, emulator answering after 500 ms:
 *               measured makespan against the ideal ceil(runs / 200) x 500 ms
 *
 * Usage: DATABASE_URL=... REDIS_URL=... npx tsx apps/worker/scripts/measure.ts [throughput|makespan]
 */
import { Queue, Worker } from 'bullmq';
import { loadConfig } from '@conveyor/core';
import { createDatabase, type Database } from '@conveyor/core';
import { newId } from '@conveyor/core';
import { createLogger } from '@conveyor/core';
import { createRedis } from '@conveyor/core';
import { queuePrefix } from '@conveyor/core';
import { createRunsQueue, runJobOptions, runWorkerSettings } from '@conveyor/core';
import { testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { createPipeline, deleteKeys, spawnWorker, stopWorker, workerEnv, type WorkerHandle } from '../tests/harness.ts';
import { startWorkerProcess } from '../src/worker-process.ts';

const databaseUrl = process.env.DATABASE_URL ?? 'postgresql://postgres:postgres@127.0.0.1:5432/conveyor_test';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379/9';
process.env.DATABASE_URL = databaseUrl;
process.env.REDIS_URL = redisUrl;

async function submitRuns(db: Database, prefix: string, pipeline: { pipelineId: string; agentIds: string[] }, count: number): Promise<string[]> {
  const redis = createRedis(redisUrl);
  const queue = createRunsQueue(redis, prefix);
  const runIds = Array.from({ length: count }, () => newId('run'));
  await db.run.createMany({ data: runIds.map((id) => ({ id, pipelineId: pipeline.pipelineId, input: 'measure' })) });
  await db.runStep.createMany({
    data: runIds.flatMap((runId) => pipeline.agentIds.map((agentId, index) => ({ runId, index, agentId }))),
  });
  for (let i = 0; i < runIds.length; i += 500) {
    await queue.addBulk(runIds.slice(i, i + 500).map((runId) => ({ name: 'run', data: { runId }, opts: { ...runJobOptions, jobId: runId } })));
  }
  await queue.close();
  redis.disconnect();
  return runIds;
}

async function waitUntilEnded(db: Database, runIds: string[]): Promise<void> {
  for (;;) {
    const ended = await db.run.count({ where: { id: { in: runIds }, status: { in: ['succeeded', 'failed', 'canceled'] } } });
    if (ended === runIds.length) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function throughput(emulator: Emulator, db: Database): Promise<void> {
  const concurrency = Number(process.env.WORKER_CONCURRENCY ?? 50);
  const runs = Number(process.env.RUNS ?? 500);
  const stepsPerRun = 3;

  const prefix = testPrefix('bench');
  const config = loadConfig({ ...process.env, ...workerEnv(prefix, emulator), WORKER_CONCURRENCY: String(concurrency), LOG_LEVEL: 'silent' });
  const pipeline = await createPipeline(db, Array.from({ length: stepsPerRun }, (_, i) => ({ model: i % 2 ? 'gpt-4o' : 'claude-sonnet-4-6' })));
  const worker = await startWorkerProcess(config, createLogger({ level: 'silent' }));
  const runIds = await submitRuns(db, prefix, pipeline, runs);
  const started = performance.now();
  await waitUntilEnded(db, runIds);
  const seconds = (performance.now() - started) / 1000;
  await worker.close(1000);
  const failed = await db.run.count({ where: { id: { in: runIds }, status: { not: 'succeeded' } } });

  // The same BullMQ worker settings, with a processor that does nothing.
  const redis = createRedis(redisUrl);
  const noopPrefix = testPrefix('noop');
  const queue = new Queue('noop', { connection: redis, prefix: queuePrefix(noopPrefix) });
  const jobs = runs * stepsPerRun;
  let done = 0;
  let finished: () => void = () => {};
  const allDone = new Promise<void>((resolve) => (finished = resolve));
  const noop = new Worker('noop', async () => {}, {
    connection: redis.duplicate(),
    prefix: queuePrefix(noopPrefix),
    concurrency,
    autorun: false,
    ...runWorkerSettings,
  });
  noop.on('completed', () => {
    if (++done === jobs) finished();
  });
  for (let i = 0; i < jobs; i += 500) {
    await queue.addBulk(Array.from({ length: Math.min(500, jobs - i) }, (_, j) => ({ name: 'noop', data: { i: i + j }, opts: runJobOptions })));
  }
  const noopStarted = performance.now();
  void noop.run();
  await allDone;
  const noopSeconds = (performance.now() - noopStarted) / 1000;
  await noop.close();
  await queue.obliterate({ force: true });
  await queue.close();
  await deleteKeys(redis, prefix);
  redis.disconnect();

  console.log(
    JSON.stringify({
      measurement: 'throughput',
      concurrency,
      runs,
      stepsPerRun,
      failedRuns: failed,
      stepsPerSecond: Math.round(((runs * stepsPerRun) / seconds) * 10) / 10,
      noopJobsPerSecond: Math.round((jobs / noopSeconds) * 10) / 10,
    }),
  );
}

async function makespan(emulator: Emulator, db: Database): Promise<void> {
  const perWorker = 100;
  const workers = 2;
  const runs = Number(process.env.RUNS ?? 1000);
  const latencyMs = 500;
  emulator.setDefaults({ latencyMs });

  const prefix = testPrefix('makespan');
  const pipeline = await createPipeline(db, [{ model: 'gpt-4o' }]);
  const handles: WorkerHandle[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      handles.push(await spawnWorker(workerEnv(prefix, emulator, { WORKER_CONCURRENCY: String(perWorker) })));
    }
    const runIds = await submitRuns(db, prefix, pipeline, runs);
    const started = performance.now();
    await waitUntilEnded(db, runIds);
    const seconds = (performance.now() - started) / 1000;
    const ideal = (Math.ceil(runs / (perWorker * workers)) * latencyMs) / 1000;
    console.log(
      JSON.stringify({
        measurement: 'makespan',
        workers,
        concurrencyPerWorker: perWorker,
        runs,
        emulatorLatencyMs: latencyMs,
        makespanSeconds: Math.round(seconds * 100) / 100,
        idealSeconds: ideal,
        efficiency: Math.round((ideal / seconds) * 1000) / 1000,
      }),
    );
  } finally {
    await Promise.all(handles.map(stopWorker));
    const redis = createRedis(redisUrl);
    await deleteKeys(redis, prefix);
    redis.disconnect();
  }
}

const which = process.argv[2] ?? 'throughput';
const emulator = await startEmulator({ maxRecordedRequests: 10 });
const db = createDatabase(databaseUrl, { max: 4 });
try {
  if (which === 'throughput') await throughput(emulator, db);
  else if (which === 'makespan') await makespan(emulator, db);
  else throw new Error(`unknown measurement ${which}`);
} finally {
  await db.$disconnect();
  await emulator.close();
}
process.exit(0);
