import { Queue, type JobsOptions } from 'bullmq';
import type { RedisConnection } from './connection.ts';
import { Batcher } from '../db/batcher.ts';
import { queuePrefix, RUNS_QUEUE, type RunJobData } from './names.ts';

/**
 * Jobs are removed from Redis once finished (Postgres keeps the history), so Redis
 * memory stays flat however many runs pass.
 */
export const runJobOptions: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 200 },
  removeOnFail: { age: 24 * 3600, count: 1000 },
};

/**
 * Stall detection: a worker renews its job locks every lockDuration/2; a job whose
 * worker died is moved back to wait by another worker within lockDuration +
 * stalledInterval (at most 20 s). A job may stall a few times (a worker killed
 * mid-run) before BullMQ gives up on it.
 */
export const runWorkerSettings = {
  lockDuration: 15_000,
  stalledInterval: 5_000,
  maxStalledCount: 3,
} as const;

/**
 * BullMQ also logs every job's transitions (added, active, completed, ...) to a Redis Stream
 * of the queue, 10,000 entries by default. Nothing here reads it (no QueueEvents), so it is
 * kept short: otherwise it grows with every run until it reaches that cap.
 */
export const RUNS_QUEUE_EVENTS_MAX_LENGTH = 1000;

export function createRunsQueue(connection: RedisConnection, prefix: string): Queue<RunJobData> {
  return new Queue<RunJobData>(RUNS_QUEUE, {
    connection,
    prefix: queuePrefix(prefix),
    streams: { events: { maxLen: RUNS_QUEUE_EVENTS_MAX_LENGTH } },
  });
}

/** Enqueues one run. The job id is the run id, so enqueueing the same run twice adds one job. */
export async function enqueueRun(queue: Queue<RunJobData>, data: RunJobData, options: JobsOptions = {}): Promise<void> {
  await queue.add('run', data, { ...runJobOptions, ...options, jobId: data.runId });
}

/** The BullMQ delay of a run due at `at` (0 when it is due already). */
export function delayUntil(at: Date | null | undefined, now = Date.now()): number {
  return at ? Math.max(0, at.getTime() - now) : 0;
}

interface Enqueue {
  data: RunJobData;
  delayMs: number;
}

const enqueuers = new WeakMap<Queue<RunJobData>, Batcher<string, Enqueue, true>>();

/**
 * `enqueueRun` for a busy process: concurrent calls share one `addBulk` (one Redis round
 * trip for many runs). Same job ids and options as `enqueueRun`; a job with `delayMs` waits
 * as a BullMQ delayed job until then.
 */
export async function enqueueRunBatched(queue: Queue<RunJobData>, data: RunJobData, delayMs = 0): Promise<void> {
  let enqueuer = enqueuers.get(queue);
  if (!enqueuer) {
    enqueuer = new Batcher(
      async (items: Enqueue[]) => {
        await queue.addBulk(
          items.map(({ data: item, delayMs: delay }) => ({
            name: 'run',
            data: item,
            opts: { ...runJobOptions, jobId: item.runId, ...(delay > 0 ? { delay } : {}) },
          })),
        );
        return new Map(items.map((item) => [item.data.runId, true as const]));
      },
      (item) => item.data.runId,
      { maxBatch: 200, maxInFlight: 2 },
    );
    enqueuers.set(queue, enqueuer);
  }
  await enqueuer.add({ data, delayMs });
}
