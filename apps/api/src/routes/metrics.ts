import { exposition } from '@conveyor/core/metrics/exposition';
import { Hono } from 'hono';
import type { ApiDeps, AppEnv } from '../context.ts';

/** `GET /metrics`: this process's metrics plus the depth of the runs and webhooks queues, in Prometheus text. */
export function metricsRoutes(deps: ApiDeps): Hono<AppEnv> {
  const scrape = exposition([deps.runsQueue, deps.webhooksQueue]);
  return new Hono<AppEnv>().get('/metrics', async (c) => c.body(await scrape.render(), 200, { 'Content-Type': scrape.contentType }));
}
