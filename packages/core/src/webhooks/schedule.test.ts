import { describe, expect, it } from 'vitest';
import { maxDeliveryAttempts, RetryDeliveryError, retryDelayMs, webhookBackoffStrategy } from './schedule.ts';

describe('webhook retry schedule', () => {
  const schedule = [5, 300, 1800];

  it('allows one attempt more than the schedule has delays', () => {
    expect(maxDeliveryAttempts(schedule)).toBe(4);
  });

  it('waits the scheduled delay after each failed attempt and none after the last', () => {
    expect([1, 2, 3, 4].map((attempt) => retryDelayMs(schedule, attempt))).toEqual([5000, 300_000, 1_800_000, null]);
    expect(retryDelayMs([0.05], 1)).toBe(50);
  });

  it('backs off by the delay the delivery computed, falling back to the job attempt count', () => {
    const backoff = webhookBackoffStrategy(schedule);
    expect(backoff(1, 'webhook-schedule', new RetryDeliveryError('500', 300_000))).toBe(300_000);
    expect(backoff(2, 'webhook-schedule', new Error('crash'))).toBe(300_000);
    expect(backoff(4, 'webhook-schedule', new Error('crash'))).toBe(-1);
  });
});
