import { createHash } from 'node:crypto';
import { metrics } from '@conveyor/core';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ApiDeps } from '../../context.ts';

/** Failed sign-ins allowed per client address, then that client waits out the window. */
export const FAILURES_PER_CLIENT = 10;
/** Failed sign-ins allowed per user name from all clients together (slows a distributed guess). */
export const FAILURES_PER_USER = 20;
const WINDOW_SECONDS = 15 * 60;

export interface Throttled {
  retryAfterSeconds: number;
}

const digest = (value: string) => createHash('sha256').update(value).digest('base64url').slice(0, 22);

/**
 * Sign-in throttling in Redis (rate-limiter-flexible), shared by every API replica: failed
 * attempts are counted per client address and per user name, for the console and (behind
 * the same sign-in) the queue dashboard. A successful sign-in clears its client's count.
 */
export class LoginThrottle {
  readonly #perClient: RateLimiterRedis;
  readonly #perUser: RateLimiterRedis;

  constructor(deps: Pick<ApiDeps, 'config' | 'redis'>) {
    const prefix = `${deps.config.REDIS_PREFIX}:rate:login`;
    this.#perClient = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${prefix}:client`, points: FAILURES_PER_CLIENT, duration: WINDOW_SECONDS });
    this.#perUser = new RateLimiterRedis({ storeClient: deps.redis, keyPrefix: `${prefix}:user`, points: FAILURES_PER_USER, duration: WINDOW_SECONDS });
  }

  /** Whether this client, or this user name, must wait before trying again. */
  async check(client: string, user: string): Promise<Throttled | undefined> {
    const [byClient, byUser] = await Promise.all([this.#perClient.get(digest(client)), this.#perUser.get(digest(user.toLowerCase()))]);
    const waits = [
      [byClient, FAILURES_PER_CLIENT],
      [byUser, FAILURES_PER_USER],
    ]
      .filter(([res, points]) => res instanceof RateLimiterRes && res.consumedPoints >= (points as number))
      .map(([res]) => (res as RateLimiterRes).msBeforeNext);
    if (waits.length === 0) return undefined;
    metrics.rateLimited('login');
    return { retryAfterSeconds: Math.max(1, Math.ceil(Math.max(...waits) / 1000)) };
  }

  async failed(client: string, user: string): Promise<void> {
    const count = (limiter: RateLimiterRedis, key: string) =>
      limiter.consume(key).catch((rejection: unknown) => {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
      });
    await Promise.all([count(this.#perClient, digest(client)), count(this.#perUser, digest(user.toLowerCase()))]);
  }

  async succeeded(client: string): Promise<void> {
    await this.#perClient.delete(digest(client));
  }
}

const throttles = new WeakMap<object, LoginThrottle>();

/** One throttle per set of dependencies (per app). */
export function loginThrottle(deps: Pick<ApiDeps, 'config' | 'redis'>): LoginThrottle {
  let throttle = throttles.get(deps.redis);
  if (!throttle) {
    throttle = new LoginThrottle(deps);
    throttles.set(deps.redis, throttle);
  }
  return throttle;
}

/** "3 minutes", "1 minute", "45 seconds": how long to wait, for the sign-in page. */
export function waitText(seconds: number): string {
  if (seconds < 60) return `${seconds} second${seconds === 1 ? '' : 's'}`;
  const minutes = Math.ceil(seconds / 60);
  return `${minutes} minute${minutes === 1 ? '' : 's'}`;
}
