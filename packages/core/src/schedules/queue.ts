import { type Job, Queue } from 'bullmq';
import type { RedisConnection } from '../queue/connection.ts';
import { queuePrefix } from '../queue/names.ts';

export const SCHEDULES_QUEUE = 'schedules';

/** A fire of a schedule: one BullMQ job per fire time, made by the schedule's job scheduler. */
export interface ScheduleJobData {
  scheduleId: string;
}

export function createSchedulesQueue(connection: RedisConnection, prefix: string): Queue<ScheduleJobData> {
  return new Queue<ScheduleJobData>(SCHEDULES_QUEUE, { connection, prefix: queuePrefix(prefix), streams: { events: { maxLen: 1000 } } });
}

/** Fire jobs are removed once done: Postgres keeps the runs they made. */
export const fireJobOptions = { removeOnComplete: true, removeOnFail: { age: 24 * 3600, count: 1000 } } as const;

/**
 * The fire time of a job made by a job scheduler: its id is `repeat:<scheduler id>:<fire time in ms>`
 * (BullMQ's getSchedulerNextJobId); the job's timestamp plus delay is the same time, as a fallback.
 */
export function fireTimeOf(job: Pick<Job, 'id' | 'timestamp' | 'delay'>): Date {
  const millis = /:(\d+)$/.exec(job.id ?? '')?.[1];
  return new Date(millis ? Number(millis) : job.timestamp + job.delay);
}
