import { pausedBaselineQueue } from './harness/baseline-queue.ts';
import { type Benchmark, ratioOf, targets } from './harness/benchmark.ts';
import { firstLine, sleep, spawnNode } from './harness/processes.ts';
import { commandCalls, commandDelta } from './harness/redis-keys.ts';
import { cpuMicrosPer, cpuSeconds } from './harness/cpu-time.ts';
import { startStack, type Stack } from './harness/stack.ts';
import type { BenchContext } from './harness/benchmark.ts';

const sizes = {
  full: { runs: 5000, concurrency: 50, warmUpRuns: 200 },
  quick: { runs: 30, concurrency: 10, warmUpRuns: 5 },
};

interface BaselineWorker {
  label: string;
  script: string;
  env?: Record<string, string>;
  /** The jobs' ids (the run ids their data carries). */
  jobId: (index: number) => string;
}

/**
 * Jobs per second of one baseline worker process with the same concurrency, jobs released all at
 * once, and the CPU each process spent per job (the baseline worker's as `workers`).
 */
async function baselineJobsPerSecond(ctx: BenchContext, stack: Stack, baseline: BaselineWorker, jobs: number, concurrency: number) {
  const prefix = ctx.prefix(`steps-${baseline.label}`);
  const queue = await pausedBaselineQueue(ctx, stack, prefix, Array.from({ length: jobs }, (_, i) => baseline.jobId(i)));
  const worker = spawnNode(ctx.scope, `${baseline.label} worker`, baseline.script, {
    REDIS_URL: ctx.env.redisUrl,
    REDIS_PREFIX: prefix,
    WORKER_CONCURRENCY: String(concurrency),
    JOBS: String(jobs),
    ...baseline.env,
  });
  await firstLine(worker, (line) => line === 'ready');
  const done = firstLine(worker, (line) => line.startsWith('done '), 120_000);
  const cpuGroups = stack.cpuGroups([worker.pid]);
  const cpuBefore = await cpuSeconds(cpuGroups);
  const releasedAt = Date.now();
  await queue.resume();
  const [, , lastFinishedAt] = (await done).split(' ');
  const cpuAfter = await cpuSeconds(cpuGroups);
  await worker.stop();
  return { jobsPerSecond: jobs / ((Number(lastFinishedAt) - releasedAt) / 1000), cpuMicrosPerJob: cpuMicrosPer(cpuBefore, cpuAfter, jobs) };
}

/** Counts per run (Redis counters are server-wide: other Redis users add noise). */
function perRun(calls: Record<string, number>, runs: number): Record<string, number> {
  return Object.fromEntries(Object.entries(calls).map(([command, count]) => [command, Math.round((count / runs) * 10) / 10]));
}

export const steps: Benchmark = {
  name: 'steps',
  measures: 'pipeline steps completed per second by one worker process (1-step runs, emulator answering at once)',
  baseline: 'no-op BullMQ jobs/s with the same worker concurrency; a hand-built worker (SDK stream, an XADD per delta, two UPDATEs) with the same concurrency',
  async run(ctx) {
    const size = sizes[ctx.size];
    const stack = await startStack(ctx, { label: 'steps', paused: true });

    ctx.log(`baseline: ${size.runs} no-op jobs, concurrency ${size.concurrency}`);
    const noop = await baselineJobsPerSecond(ctx, stack, { label: 'noop', script: 'bench/baselines/noop-worker.ts', jobId: (i) => `noop-${i}` }, size.runs, size.concurrency);
    const baseline = noop.jobsPerSecond;
    ctx.log(`baseline: ${size.runs} one-step runs through a hand-built worker (SDK stream, XADD per delta, two UPDATEs), concurrency ${size.concurrency}`);
    const handBuilt = await baselineJobsPerSecond(
      ctx,
      stack,
      { label: 'hand-built', script: 'bench/baselines/handbuilt-step-worker.ts', env: { DATABASE_URL: ctx.env.databaseUrl, ANTHROPIC_BASE_URL: stack.env.ANTHROPIC_BASE_URL!, WARM_UP: String(size.warmUpRuns) }, jobId: (i) => `handbuilt-${i}` },
      size.runs,
      size.concurrency,
    );

    await stack.startWorkers(1, size.concurrency);
    ctx.log(`warming up with ${size.warmUpRuns} runs`);
    await stack.warmUp(size.warmUpRuns, 1);
    const pipelineId = await stack.pipeline('steps', 1);
    ctx.log(`submitting ${size.runs} runs`);
    await stack.api.createRuns(pipelineId, size.runs);
    await stack.db.analyze();
    ctx.log('releasing the queue');
    const commandsBefore = await commandCalls(stack.redis);
    const databaseBefore = await stack.db.activity();
    const cpuGroups = stack.cpuGroups();
    const cpuBefore = await cpuSeconds(cpuGroups);
    const releasedAt = Date.now();
    await stack.runsQueue.resume();
    const times = await stack.db.waitForFinished(pipelineId, size.runs, 300_000);
    const cpuAfter = await cpuSeconds(cpuGroups);
    const redisCommands = commandDelta(commandsBefore, await commandCalls(stack.redis));
    await sleep(1500);
    const databaseWork = commandDelta(databaseBefore, await stack.db.activity());
    const stepsPerSecond = times.succeeded / ((times.lastFinishedAt - releasedAt) / 1000);

    return {
      figures: [
        { metric: 'steps per second, 1 worker', value: stepsPerSecond, unit: 'steps/s', baseline, ratio: ratioOf(stepsPerSecond, baseline), target: targets.atLeast(1000, 'steps/s') },
        { metric: 'steps per second, vs a hand-built worker', value: stepsPerSecond, unit: 'steps/s', baseline: handBuilt.jobsPerSecond, ratio: ratioOf(stepsPerSecond, handBuilt.jobsPerSecond) },
      ],
      details: { ...size, cpuMicrosPerStep: cpuMicrosPer(cpuBefore, cpuAfter, times.succeeded), handBuilt: { stepsPerSecond: handBuilt.jobsPerSecond, cpuMicrosPerStep: handBuilt.cpuMicrosPerJob }, noop: { cpuMicrosPerJob: noop.cpuMicrosPerJob }, redisCommandsPerRun: perRun(redisCommands, size.runs), postgresPerRun: perRun(databaseWork, size.runs), succeeded: times.succeeded, failed: times.failed, ...(times.failed ? { sampleFailure: await stack.db.sampleFailure(pipelineId) } : {}) },
    };
  },
};
