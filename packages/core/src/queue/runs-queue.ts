import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { queuePrefix, RUNS_QUEUE, type RunJobData } from './names.ts';

/**
 * Jobs are removed from Redis once finished (Postgres keeps the history), so Redis
 * memory stays flat however many runs pass.
 */
export const runJobOptions: JobsOptions = {
  attempts: 3,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 3600, count: 1000 },
  removeOnFail: { age: 24 * 3600, count: 5000 },
};

export function createRunsQueue(connection: Redis, prefix: string): Queue<RunJobData> {
  return new Queue<RunJobData>(RUNS_QUEUE, { connection, prefix: queuePrefix(prefix) });
}

/** Enqueues one run. The job id is the run id, so enqueueing the same run twice adds one job. */
export async function enqueueRun(queue: Queue<RunJobData>, data: RunJobData, options: JobsOptions = {}): Promise<void> {
  await queue.add('run', data, { ...runJobOptions, ...options, jobId: data.runId });
}
