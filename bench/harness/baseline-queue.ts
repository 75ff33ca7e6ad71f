import { Queue } from 'bullmq';
import { queuePrefix, RUNS_QUEUE, runJobOptions } from '@conveyor/core';
import type { BenchContext } from './benchmark.ts';
import type { Stack } from './stack.ts';

/**
 * A runs queue of a baseline's own, under `prefix`, paused, holding one job per id with the product's
 * job options (the run id in its data, as the product enqueues a run); closed with the scope.
 */
export async function pausedBaselineQueue(ctx: BenchContext, stack: Stack, prefix: string, ids: readonly string[]): Promise<Queue> {
  const queue = new Queue(RUNS_QUEUE, { connection: stack.redis, prefix: queuePrefix(prefix) });
  ctx.scope.defer(`close the ${prefix} queue`, () => queue.close());
  await queue.pause();
  for (let start = 0; start < ids.length; start += 1000) {
    await queue.addBulk(ids.slice(start, start + 1000).map((runId) => ({ name: 'run', data: { runId }, opts: { ...runJobOptions, jobId: runId } })));
  }
  return queue;
}
