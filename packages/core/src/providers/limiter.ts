import { randomUUID } from 'node:crypto';
import type { RedisConnection } from '../queue/connection.ts';
import type { Logger } from '../logger.ts';
import { type Metrics, metrics as processMetrics } from '../metrics/metrics.ts';
import { ProviderAbortedError } from './errors.ts';
import type { Provider } from './types.ts';

/*
 * A distributed counting semaphore per provider: a sorted set of holders scored by the time
 * their lease ends (Redis server time, so clocks of worker machines do not matter). Acquiring
 * first drops expired leases, which is what frees the slots of a worker that died.
 */
const nowMs = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)`;
const keepKeyAlive = `if redis.call('PTTL', KEYS[1]) < lease then redis.call('PEXPIRE', KEYS[1], lease) end`;

const acquireScript = `
local limit, lease, holder = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
${nowMs}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then return 0 end
redis.call('ZADD', KEYS[1], now + lease, holder)
${keepKeyAlive}
return 1`;

const renewScript = `
local lease, holder = tonumber(ARGV[1]), ARGV[2]
${nowMs}
if not redis.call('ZSCORE', KEYS[1], holder) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + lease, holder)
${keepKeyAlive}
return 1`;

export interface ProviderLimiterOptions {
  redis: RedisConnection;
  /** REDIS_PREFIX: every process sharing it shares the limits. */
  prefix: string;
  /** Calls in flight per provider id across all processes (PROVIDER_CONCURRENCY); absent = unlimited. */
  limits: Record<string, number>;
  /** A slot not renewed for this long is free again (renewed every third of it while held). */
  leaseMs?: number;
  /** Longest pause between two attempts while waiting for a slot. */
  maxPollMs?: number;
  logger?: Logger;
  metrics?: Metrics;
}

export interface ProviderSlot {
  release(): Promise<void>;
}

const noSlot: ProviderSlot = { release: async () => {} };

export class ProviderLimiter {
  readonly #redis: RedisConnection;
  readonly #prefix: string;
  readonly #limits: Record<string, number>;
  readonly #leaseMs: number;
  readonly #maxPollMs: number;
  readonly #logger: Logger | undefined;
  readonly #metrics: Metrics;

  constructor(options: ProviderLimiterOptions) {
    this.#redis = options.redis;
    this.#prefix = options.prefix;
    this.#limits = options.limits;
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#maxPollMs = options.maxPollMs ?? 250;
    this.#logger = options.logger;
    this.#metrics = options.metrics ?? processMetrics;
  }

  limitOf(provider: string): number | undefined {
    return this.#limits[provider];
  }

  /** Waits for a slot of `provider` (at once when it has no limit). Rejects with ProviderAbortedError when `signal` aborts. */
  async acquire(provider: string, signal?: AbortSignal): Promise<ProviderSlot> {
    const limit = this.limitOf(provider);
    if (limit === undefined) return noSlot;
    const key = `${this.#prefix}:provider-slots:${provider}`;
    const holder = randomUUID();
    const started = performance.now();
    for (let attempt = 0; ; attempt += 1) {
      if (signal?.aborted) throw new ProviderAbortedError(provider, signal.reason);
      const won = await this.#redis.eval(acquireScript, 1, key, limit, this.#leaseMs, holder);
      if (won === 1) {
        if (signal?.aborted) {
          await this.#redis.zrem(key, holder);
          throw new ProviderAbortedError(provider, signal.reason);
        }
        this.#metrics.providerSlotAcquired(provider, performance.now() - started);
        return this.#hold(provider, key, holder);
      }
      await pause(backoff(attempt, this.#maxPollMs), signal);
    }
  }

  /** Runs `call` holding a slot of `provider`. */
  async run<T>(provider: string, signal: AbortSignal | undefined, call: () => Promise<T>): Promise<T> {
    const slot = await this.acquire(provider, signal);
    try {
      return await call();
    } finally {
      await slot.release();
    }
  }

  #hold(provider: string, key: string, holder: string): ProviderSlot {
    const renewal = setInterval(() => {
      this.#redis
        .eval(renewScript, 1, key, this.#leaseMs, holder)
        .then((held) => {
          if (held !== 1) this.#logger?.warn({ provider }, 'provider slot lease expired before renewal; the call goes on');
        })
        .catch((error: unknown) => this.#logger?.warn({ provider, err: error }, 'provider slot lease renewal failed'));
    }, this.#leaseMs / 3);
    renewal.unref();
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        clearInterval(renewal);
        this.#metrics.providerSlotReleased(provider);
        // A release lost to a Redis error is reclaimed when the lease ends.
        await this.#redis.zrem(key, holder).catch((error: unknown) => this.#logger?.warn({ provider, err: error }, 'provider slot release failed'));
      },
    };
  }
}

/** A provider whose chat calls each hold one of its slots while in flight. */
export function limitConcurrency(provider: Provider, limiter: ProviderLimiter): Provider {
  if (limiter.limitOf(provider.id) === undefined) return provider;
  return {
    id: provider.id,
    ...(provider.countInputTokens ? { countInputTokens: provider.countInputTokens.bind(provider) } : {}),
    chat: (request) => limiter.run(provider.id, request.signal, () => provider.chat(request)),
  };
}

/** 10 ms doubling up to the cap, with full jitter so waiting workers do not poll in step. */
function backoff(attempt: number, capMs: number): number {
  const ceiling = Math.min(capMs, 10 * 2 ** Math.min(attempt, 10));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

function pause(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
