import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import { fromThisSite } from '../console/auth/middleware.ts';
import { consoleEnabled } from '../console/auth/credentials.ts';
import { readSession } from '../console/auth/session.ts';
import type { ApiDeps, AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { queuesDashboard } from './queues-dashboard.ts';

export const ADMIN_BASE_PATH = '/admin';

/**
 * The console's sign-in guards the dashboard too (one sign-in, with its throttling). A page
 * without a session goes to the console login and comes back; the dashboard's own API calls
 * answer 401. Its actions (PUT, POST, DELETE) must also come from this site.
 */
const consoleSignIn = createMiddleware<AppEnv>(async (c, next) => {
  const session = await readSession(c, c.get('deps'));
  if (!session) {
    const url = new URL(c.req.url);
    const isPage = c.req.method === 'GET' && !url.pathname.startsWith(`${ADMIN_BASE_PATH}/queues/api/`) && !url.pathname.includes('/static/');
    if (isPage) return c.redirect(`/login?next=${encodeURIComponent(`${url.pathname}${url.search}`)}`, 303);
    const error = new ApiError(401, 'unauthorized', 'sign in to the console first');
    return c.json(error.toBody(), 401);
  }
  if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && !(await fromThisSite(c))) {
    const error = new ApiError(403, 'forbidden', 'dashboard actions must come from the dashboard');
    return c.json(error.toBody(), 403);
  }
  await next();
});

/**
 * The admin area, to mount at `/admin`: the BullMQ dashboard at `/admin/queues`, every path
 * behind the console's sign-in. Without ADMIN_USER and ADMIN_PASSWORD it has no routes at all (404).
 */
export function adminRoutes(deps: ApiDeps): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  if (!consoleEnabled(deps.config)) return admin;
  admin.use('*', consoleSignIn);
  admin.route('/queues', queuesDashboard([deps.runsQueue, deps.webhooksQueue, deps.schedulesQueue], `${ADMIN_BASE_PATH}/queues`));
  return admin;
}
