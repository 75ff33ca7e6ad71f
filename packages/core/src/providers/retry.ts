import { childSignal } from '../abort.ts';
import { ProviderAbortedError, ProviderError } from './errors.ts';

export interface RetryPolicy {
  /** Retries after the first attempt (0 = one attempt only). */
  maxRetries: number;
  /** Each attempt is aborted after this many milliseconds (a hung call, a stalled stream). */
  timeoutMs: number;
  /** First backoff; doubles with each retry. */
  baseDelayMs: number;
  maxDelayMs: number;
  /** A `retry-after` longer than this is not waited for: the error is surfaced instead. */
  maxRetryAfterMs: number;
}

export const defaultRetryPolicy: RetryPolicy = {
  maxRetries: 4,
  timeoutMs: 600_000,
  baseDelayMs: 500,
  maxDelayMs: 20_000,
  maxRetryAfterMs: 120_000,
};

export interface RetryNotice {
  /** The attempt about to start (1 = the first retry). */
  attempt: number;
  delayMs: number;
  error: ProviderError;
}

export interface RetryOptions {
  provider: string;
  policy: RetryPolicy;
  signal?: AbortSignal;
  /** Turns whatever an attempt threw into a ProviderError. */
  classify: (error: unknown) => ProviderError;
  onRetry?: (notice: RetryNotice) => void;
  random?: () => number;
}

/**
 * Exponential backoff with "equal jitter": half the capped exponential delay is
 * fixed, the other half random. A provider's `retry-after` is a floor.
 */
export function backoffDelay(retry: number, retryAfterMs: number | undefined, policy: RetryPolicy, random = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
  const jittered = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

class AttemptTimeout extends Error {}
/** The reason an attempt's signal fires with when its time is up. */
const attemptTimedOut = new AttemptTimeout('no complete reply within the attempt timeout');

/**
 * Runs `attempt` until it succeeds, fails permanently, or the retries run out.
 * Each attempt gets its own signal that fires on the caller's abort or on the
 * per-attempt timeout. A caller's abort ends everything at once with ProviderAbortedError.
 */
export async function withRetries<T>(options: RetryOptions, attempt: (signal: AbortSignal, attemptNumber: number) => Promise<T>): Promise<T> {
  const { provider, policy, signal } = options;
  for (let retry = 0; ; retry += 1) {
    if (signal?.aborted) throw new ProviderAbortedError(provider, signal.reason);
    const attemptSignal = childSignal(signal, { ms: policy.timeoutMs, reason: attemptTimedOut });
    let failure: ProviderError;
    try {
      return await attempt(attemptSignal.signal, retry);
    } catch (raw) {
      if (signal?.aborted) throw new ProviderAbortedError(provider, raw);
      failure =
        attemptSignal.signal.reason === attemptTimedOut
          ? new ProviderError({ provider, kind: 'timeout', transient: true, message: `no complete reply within ${policy.timeoutMs} ms`, cause: raw })
          : options.classify(raw);
    } finally {
      attemptSignal.release();
    }
    const waitTooLong = failure.retryAfterMs !== undefined && failure.retryAfterMs > policy.maxRetryAfterMs;
    if (!failure.transient || retry >= policy.maxRetries || waitTooLong) throw failure;
    const delayMs = backoffDelay(retry, failure.retryAfterMs, policy, options.random);
    options.onRetry?.({ attempt: retry + 1, delayMs, error: failure });
    await sleep(delayMs, provider, signal);
  }
}

function sleep(ms: number, provider: string, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new ProviderAbortedError(provider, signal.reason));
    const onAbort = () => {
      clearTimeout(timer);
      reject(new ProviderAbortedError(provider, signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** The policy a provider built with `settings` uses. */
export function retryPolicyFor(settings: { timeoutMs?: number; maxRetries?: number; retry?: Partial<RetryPolicy> }): RetryPolicy {
  return {
    ...defaultRetryPolicy,
    ...Object.fromEntries(Object.entries(settings.retry ?? {}).filter(([, v]) => v !== undefined)),
    ...(settings.timeoutMs !== undefined ? { timeoutMs: settings.timeoutMs } : {}),
    ...(settings.maxRetries !== undefined ? { maxRetries: settings.maxRetries } : {}),
  };
}
