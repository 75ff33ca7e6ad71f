import type { BenchContext } from './benchmark.ts';
import { setPacing } from './emulator-admin.ts';
import { cpuMicrosPer, cpuSeconds } from './cpu-time.ts';
import { startStack } from './stack.ts';

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
    };
  });
}
