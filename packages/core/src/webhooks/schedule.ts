import type { BackoffStrategy } from 'bullmq';

/** The BullMQ backoff type whose delays come from WEBHOOK_RETRY_SCHEDULE. */
export const WEBHOOK_BACKOFF = 'webhook-schedule';

/** A failed attempt that should be retried after `delayMs`. */
export class RetryDeliveryError extends Error {
  override name = 'RetryDeliveryError';
  constructor(
    message: string,
    readonly delayMs: number,
  ) {
    super(message);
  }
}

/** One first attempt plus one retry per entry of the schedule. */
export function maxDeliveryAttempts(schedule: readonly number[]): number {
  return schedule.length + 1;
}

/** The delay after failed attempt `attempt` (1-based), or null when it was the last one. */
export function retryDelayMs(schedule: readonly number[], attempt: number): number | null {
  const seconds = schedule[attempt - 1];
  return seconds === undefined ? null : Math.round(seconds * 1000);
}

export function longestRetryDelayMs(schedule: readonly number[]): number {
  return Math.round(Math.max(0, ...schedule) * 1000);
}

/**
 * BullMQ's custom backoff. The delivery sets the delay on its error (it counts attempts
 * in Postgres, which survives a lost job); BullMQ's own count is the fallback.
 */
export function webhookBackoffStrategy(schedule: readonly number[]): BackoffStrategy {
  return (attemptsMade, _type, error) => {
    if (error instanceof RetryDeliveryError) return error.delayMs;
    return retryDelayMs(schedule, attemptsMade) ?? -1;
  };
}
