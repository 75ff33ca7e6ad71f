import { Hono } from 'hono';
import type { ApiDeps, AppEnv } from '../context.ts';
import { consoleEnabled } from '../console/auth/credentials.ts';
import { adminBasicAuth } from './basic-auth.ts';
import { queuesDashboard } from './queues-dashboard.ts';

export const ADMIN_BASE_PATH = '/admin';

/**
 * The admin area, to mount at `/admin`: the BullMQ dashboard at `/admin/queues`, every path
 * behind basic auth. Without ADMIN_USER and ADMIN_PASSWORD it has no routes at all (404).
 */
export function adminRoutes(deps: ApiDeps): Hono<AppEnv> {
  const admin = new Hono<AppEnv>();
  if (!consoleEnabled(deps.config)) return admin;
  admin.use('*', adminBasicAuth);
  admin.route('/queues', queuesDashboard([deps.runsQueue, deps.webhooksQueue], `${ADMIN_BASE_PATH}/queues`));
  return admin;
}
