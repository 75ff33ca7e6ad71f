import { createHash } from 'node:crypto';
import { metrics } from '@conveyor/core';
import { createMiddleware } from 'hono/factory';
import { RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import type { ApiDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

/** The key of a token in Redis: a digest, so no token is ever written there. */
const tokenKey = (authorization: string) => createHash('sha256').update(authorization.replace(/^Bearer +/i, '').trim()).digest('hex').slice(0, 32);

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** How long a request waits for Redis to count it before it is let through uncounted. */
const COUNT_TIMEOUT_MS = 1000;

function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * `API_RATE_LIMIT` per bearer token, counted in Redis so every API replica shares the window
 * (fixed windows, rate-limiter-flexible). Every `/v1` answer carries the RateLimit headers
 * (IETF draft: `RateLimit-Limit`, `-Remaining`, `-Reset`, `-Policy`); over the limit it is
 * `429 rate_limited` with `Retry-After`. While Redis does not answer requests are let through:
 * they fail on their own if they need Redis, and the limiter must not be what takes the API down.
 */
export function apiRateLimit(deps: Pick<ApiDeps, 'config' | 'redis' | 'logger'>) {
  const limit = deps.config.API_RATE_LIMIT;
  const limiter =
    limit &&
    new RateLimiterRedis({
      storeClient: deps.redis,
      keyPrefix: `${deps.config.REDIS_PREFIX}:rate:api`,
      points: limit.points,
      duration: limit.durationSeconds,
    });
  const policy = limit ? `${limit.points};w=${limit.durationSeconds}` : '';
  return createMiddleware<AppEnv>(async (c, next) => {
    if (!limiter || !limit) return next();
    let result: RateLimiterRes;
    let limited = false;
    try {
      result = await withinDeadline(limiter.consume(tokenKey(c.req.header('authorization') ?? '')), COUNT_TIMEOUT_MS);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) {
        (c.get('logger') ?? deps.logger).warn({ err: rejection }, 'rate limit not checked: Redis does not answer');
        return next();
      }
      result = rejection;
      limited = true;
    }
    c.header('RateLimit-Limit', String(limit.points));
    c.header('RateLimit-Remaining', String(result.remainingPoints));
    c.header('RateLimit-Reset', String(seconds(result.msBeforeNext)));
    c.header('RateLimit-Policy', policy);
    if (limited) {
      metrics.rateLimited('api');
      c.header('Retry-After', String(seconds(result.msBeforeNext)));
      throw new ApiError(429, 'rate_limited', `this token made more than ${limit.points} requests in ${limit.durationSeconds} s (API_RATE_LIMIT); retry after ${seconds(result.msBeforeNext)} s`);
    }
    await next();
  });
}
