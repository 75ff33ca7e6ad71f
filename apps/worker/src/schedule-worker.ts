import { fireTimeOf, type Logger, queuePrefix, type RedisConnection, type ScheduleJobData, type Schedules, SCHEDULES_QUEUE } from '@conveyor/core';
import { Worker } from 'bullmq';

export interface ScheduleWorkerDeps {
  schedules: Schedules;
  connection: RedisConnection;
  prefix: string;
  logger: Logger;
}

/**
 * The worker of the `schedules` queue: each job is one fire time of one schedule (made by its
 * BullMQ job scheduler), turned into a run. Fires only insert and enqueue, so a few at once suffice.
 */
export function createScheduleWorker(deps: ScheduleWorkerDeps, options: { concurrency?: number } = {}): Worker<ScheduleJobData> {
  const logger = deps.logger.child({ queue: SCHEDULES_QUEUE });
  return new Worker<ScheduleJobData>(
    SCHEDULES_QUEUE,
    async (job) => {
      const fireTime = fireTimeOf(job);
      const outcome = await deps.schedules.fire(job.data.scheduleId, fireTime);
      logger.debug({ scheduleId: job.data.scheduleId, fireTime, ...outcome }, 'schedule fired');
    },
    { connection: deps.connection, prefix: queuePrefix(deps.prefix), concurrency: options.concurrency ?? 5 },
  );
}
