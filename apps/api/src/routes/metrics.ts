import { exposition } from '@conveyor/core';
import { Hono } from 'hono';
import type { ApiDeps, AppEnv } from '../context.ts';

/** A scrape that cannot read the queues' depth within this time answers 503, not a hung or failed request. */
export const METRICS_TIMEOUT_MS = 3000;

function withinDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * `GET /metrics`: this process's metrics, the depth of the runs, webhooks and schedules queues and the
 * deployment's run, step, token and cost counters (every worker's), in
 * Prometheus text; `503 unavailable` (with `Retry-After`) while Redis does not answer.
 */
export function metricsRoutes(deps: ApiDeps): Hono<AppEnv> {
  const scrape = exposition([deps.runsQueue, deps.webhooksQueue, deps.schedulesQueue], { redis: deps.redis, prefix: deps.config.REDIS_PREFIX });
  return new Hono<AppEnv>().get('/metrics', async (c) => {
    let text: string;
    try {
      text = await withinDeadline(scrape.render(), METRICS_TIMEOUT_MS);
    } catch (error) {
      c.get('logger')?.warn({ err: error }, 'metrics: a backing service does not answer');
      return c.json({ error: { code: 'unavailable', message: 'metrics are unavailable while Redis does not answer; try again shortly' } }, 503, { 'Retry-After': '5' });
    }
    return c.body(text, 200, { 'Content-Type': scrape.contentType });
  });
}
