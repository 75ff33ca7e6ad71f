import { pausedBaselineQueue } from './baseline-queue.ts';
import type { BenchContext } from './benchmark.ts';
import { setPacing } from './emulator-admin.ts';
import { cpuMicrosPer, cpuSeconds } from './cpu-time.ts';
import { firstLine, sleep, spawnNode } from './processes.ts';
import { type Stack, startStack } from './stack.ts';

export const makespanSizes = {
  full: { runs: 1000, steps: 3, latencyMs: 500, concurrency: 100, warmUpRuns: 200 },
  quick: { runs: 12, steps: 3, latencyMs: 50, concurrency: 4, warmUpRuns: 4 },
};

export interface MakespanResult {
  workers: number;
  runs: number;
  steps: number;
  latencyMs: number;
  concurrency: number;
  warmUpRuns: number;
  succeeded: number;
  failed: number;
  makespanSeconds: number;
  /** runs × steps × latency ÷ (workers × concurrency): every slot busy with a provider call all the time. */
  idealSeconds: number;
  stepsPerSecond: number;
  /** Average ms per step, between steps, and at a run's start and end (see RunsDb.stepTimings). */
  timingsMs: Record<string, number>;
  /** CPU time per step of each group of processes over the measured window (bench/harness/cpu-time.ts). */
  cpuMicrosPerStep: Record<string, number>;
  /** The same load through as many hand-built worker processes (bench/baselines/handbuilt-step-worker.ts). */
  handBuilt: HandBuiltMakespan;
}

export interface HandBuiltMakespan {
  makespanSeconds: number;
  stepsPerSecond: number;
  cpuMicrosPerStep: Record<string, number>;
}

/**
 * The makespan load: runs of several steps, each step waiting `latencyMs` on the
 * emulator, submitted while the queue is paused and released at once to
 * `workers` worker processes.
 */
export function makespanLoad(ctx: BenchContext, workers: number): Promise<MakespanResult> {
  return ctx.shared(`makespan-${workers}`, async () => {
    const size = makespanSizes[ctx.size];
    const stack = await startStack(ctx, { label: `makespan-${workers}w`, paused: true, workers, workerConcurrency: size.concurrency });
    ctx.log(`${workers} worker(s) × ${size.concurrency}: warming up with ${size.warmUpRuns} runs`);
    await stack.warmUp(size.warmUpRuns, size.steps);
    await setPacing(stack.emulator!.url, { latencyMs: size.latencyMs });
    const pipelineId = await stack.pipeline(`makespan ${workers} workers`, size.steps);
    ctx.log(`submitting ${size.runs} runs of ${size.steps} steps`);
    await stack.api.createRuns(pipelineId, size.runs);
    await stack.db.analyze();

    const idealSeconds = (size.runs * size.steps * size.latencyMs) / 1000 / (workers * size.concurrency);
    const cpuGroups = stack.cpuGroups();
    const cpuBefore = await cpuSeconds(cpuGroups);
    const releasedAt = Date.now();
    await stack.runsQueue.resume();
    const times = await stack.db.waitForFinished(pipelineId, size.runs, Math.max(60_000, idealSeconds * 5000));
    const cpuMicrosPerStep = cpuMicrosPer(cpuBefore, await cpuSeconds(cpuGroups), times.succeeded * size.steps);
    const makespanSeconds = (times.lastFinishedAt - releasedAt) / 1000;
    const timingsMs = await stack.db.stepTimings(pipelineId);
    for (const worker of stack.workers) await worker.stop();
    ctx.log(`the same load through ${workers} hand-built worker(s) × ${size.concurrency}`);
    const handBuilt = await handBuiltMakespan(ctx, stack, workers, size);
    return {
      workers,
      ...size,
      succeeded: times.succeeded,
      failed: times.failed,
      makespanSeconds,
      idealSeconds,
      stepsPerSecond: (times.succeeded * size.steps) / makespanSeconds,
      timingsMs,
      cpuMicrosPerStep,
      handBuilt,
    };
  });
}

/**
 * The makespan load through `workers` processes of the worker a user would write without Conveyor,
 * on its own queue and table, warmed up alike, released at once; done when its table says so.
 */
async function handBuiltMakespan(ctx: BenchContext, stack: Stack, workers: number, size: (typeof makespanSizes)[keyof typeof makespanSizes]): Promise<HandBuiltMakespan> {
  const prefix = ctx.prefix(`makespan-hand-built-${workers}w`);
  const queue = await pausedBaselineQueue(ctx, stack, prefix, Array.from({ length: size.runs }, (_, i) => `handbuilt-${i}`));
  const processes = [];
  for (let i = 0; i < workers; i++) {
    const worker = spawnNode(ctx.scope, `hand-built worker ${i + 1}`, 'bench/baselines/handbuilt-step-worker.ts', {
      DATABASE_URL: ctx.env.databaseUrl,
      REDIS_URL: ctx.env.redisUrl,
      REDIS_PREFIX: prefix,
      ANTHROPIC_BASE_URL: stack.env.ANTHROPIC_BASE_URL!,
      WORKER_CONCURRENCY: String(size.concurrency),
      JOBS: String(size.runs),
      STEPS: String(size.steps),
      WARM_UP: String(size.warmUpRuns),
      CREATE_TABLE: i === 0 ? '1' : '0',
    });
    // The first creates the table the others warm up on.
    await firstLine(worker, (line) => line === 'ready', 120_000);
    processes.push(worker);
  }
  const cpuGroups = stack.cpuGroups(processes.map((worker) => worker.pid));
  const cpuBefore = await cpuSeconds(cpuGroups);
  const releasedAt = Date.now();
  await queue.resume();
  const deadline = Date.now() + Math.max(60_000, ((size.runs * size.steps * size.latencyMs) / (workers * size.concurrency)) * 5);
  for (;;) {
    const { rows } = await stack.db.pool.query<{ succeeded: string; last: Date | null }>(
      `SELECT count(*) FILTER (WHERE status = 'succeeded') AS succeeded, max(finished_at) AS last FROM bench_handbuilt_steps WHERE id NOT LIKE 'handbuilt-warm-%'`,
    );
    if (Number(rows[0]!.succeeded) >= size.runs) {
      const cpuMicrosPerStep = cpuMicrosPer(cpuBefore, await cpuSeconds(cpuGroups), size.runs * size.steps);
      for (const worker of processes) await worker.stop();
      const makespanSeconds = (rows[0]!.last!.getTime() - releasedAt) / 1000;
      return { makespanSeconds, stepsPerSecond: (size.runs * size.steps) / makespanSeconds, cpuMicrosPerStep };
    }
    if (Date.now() > deadline) throw new Error(`the hand-built workers finished ${rows[0]!.succeeded} of ${size.runs} runs in time`);
    await sleep(200);
  }
}
