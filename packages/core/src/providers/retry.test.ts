import { describe, expect, it } from 'vitest';
import { ProviderAbortedError, ProviderError } from './errors.ts';
import { backoffDelay, defaultRetryPolicy, type RetryPolicy, retryPolicyFor, withRetries } from './retry.ts';
import { retryAfterMs } from './sdk-errors.ts';

const policy: RetryPolicy = { ...defaultRetryPolicy, maxRetries: 3, baseDelayMs: 1, maxDelayMs: 4, timeoutMs: 1_000 };
const transient = (retryAfter?: number) => new ProviderError({ provider: 'p', kind: 'server_error', transient: true, status: 500, message: 'boom', retryAfterMs: retryAfter });
const permanent = () => new ProviderError({ provider: 'p', kind: 'bad_request', transient: false, status: 400, message: 'bad' });
const classify = (e: unknown) => e as ProviderError;

describe('backoffDelay', () => {
  it('doubles up to the cap, with jitter in the upper half', () => {
    const p = { ...policy, baseDelayMs: 100, maxDelayMs: 1_000 };
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, undefined, p, () => 0))).toEqual([50, 100, 200, 400, 500]);
    expect([0, 1, 2, 3, 4].map((n) => backoffDelay(n, undefined, p, () => 1))).toEqual([100, 200, 400, 800, 1_000]);
  });

  it('never waits less than retry-after', () => {
    expect(backoffDelay(0, 3_000, { ...policy, baseDelayMs: 100 }, () => 1)).toBe(3_000);
  });
});

describe('withRetries', () => {
  it('retries transient failures until one attempt succeeds', async () => {
    let calls = 0;
    const notices: number[] = [];
    const result = await withRetries({ provider: 'p', policy, classify, onRetry: (n) => notices.push(n.attempt) }, async () => {
      calls += 1;
      if (calls < 3) throw transient();
      return 'ok';
    });
    expect(result).toBe('ok');
    expect(notices).toEqual([1, 2]);
  });

  it('stops after maxRetries and throws the last transient error', async () => {
    let calls = 0;
    const error = await withRetries({ provider: 'p', policy, classify }, async () => {
      calls += 1;
      throw transient();
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ transient: true, kind: 'server_error' });
    expect(calls).toBe(4);
  });

  it('does not retry a permanent failure', async () => {
    let calls = 0;
    await expect(
      withRetries({ provider: 'p', policy, classify }, async () => {
        calls += 1;
        throw permanent();
      }),
    ).rejects.toMatchObject({ kind: 'bad_request' });
    expect(calls).toBe(1);
  });

  it('surfaces a retry-after longer than it is willing to wait', async () => {
    let calls = 0;
    await expect(
      withRetries({ provider: 'p', policy: { ...policy, maxRetryAfterMs: 10 }, classify }, async () => {
        calls += 1;
        throw transient(60_000);
      }),
    ).rejects.toMatchObject({ retryAfterMs: 60_000 });
    expect(calls).toBe(1);
  });

  it('turns a hung attempt into a transient timeout', async () => {
    const error = await withRetries({ provider: 'p', policy: { ...policy, maxRetries: 0, timeoutMs: 30 }, classify }, (signal) =>
      new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted')))),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'timeout', transient: true });
  });

  it('ends at once with ProviderAbortedError when aborted during the backoff wait', async () => {
    const controller = new AbortController();
    let calls = 0;
    const call = withRetries({ provider: 'p', policy: { ...policy, baseDelayMs: 60_000, maxDelayMs: 60_000 }, classify, signal: controller.signal }, async () => {
      calls += 1;
      throw transient();
    });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toBeInstanceOf(ProviderAbortedError);
    expect(calls).toBe(1);
  });
});

describe('retryAfterMs', () => {
  it('reads retry-after-ms, retry-after seconds and retry-after dates', () => {
    expect(retryAfterMs(new Headers({ 'retry-after-ms': '250' }))).toBe(250);
    expect(retryAfterMs(new Headers({ 'retry-after': '2' }))).toBe(2_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now)).toBe(5_000);
    expect(retryAfterMs(new Headers({ 'retry-after': 'soon' }))).toBeUndefined();
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('retryPolicyFor', () => {
  it('takes timeout, retries and backoff from provider settings', () => {
    expect(retryPolicyFor({ timeoutMs: 5, maxRetries: 1, retry: { baseDelayMs: 2 } })).toEqual({ ...defaultRetryPolicy, timeoutMs: 5, maxRetries: 1, baseDelayMs: 2 });
  });
});
