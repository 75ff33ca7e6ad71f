import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context.ts';

/** One line per request (at debug for health checks), with status and duration. */
export const accessLog = createMiddleware<AppEnv>(async (c, next) => {
  const started = performance.now();
  await next();
  const ms = Math.round((performance.now() - started) * 10) / 10;
  const line = { method: c.req.method, path: c.req.path, status: c.res.status, ms };
  if (c.req.path === '/healthz' || c.req.path === '/readyz') c.get('logger').debug(line, 'request');
  else c.get('logger').info(line, 'request');
});
