import { createRoute, z } from '@hono/zod-openapi';
import type { ApiDeps } from '../context.ts';
import { jsonResponse as json } from '../schemas/common.ts';
import { createRouter } from './router.ts';

const READY_TIMEOUT_MS = 2000;

const Status = z.enum(['ok', 'error']);
const Health = z.object({ status: z.literal('ok') }).openapi('Health');
const Readiness = z.object({ status: Status, checks: z.object({ postgres: Status, redis: Status }) }).openapi('Readiness');

function answersWithin(check: () => Promise<unknown>, ms: number): Promise<'ok' | 'error'> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'error'>((resolve) => {
    timer = setTimeout(() => resolve('error'), ms);
  });
  const attempt = check().then(
    () => 'ok' as const,
    () => 'error' as const,
  );
  return Promise.race([attempt, timeout]).finally(() => clearTimeout(timer));
}

/** Whether Postgres and Redis answer now. */
export async function readiness(deps: Pick<ApiDeps, 'db' | 'redis'>) {
  const [postgres, redis] = await Promise.all([
    answersWithin(() => deps.db.$queryRaw`SELECT 1`, READY_TIMEOUT_MS),
    answersWithin(() => deps.redis.ping(), READY_TIMEOUT_MS),
  ]);
  return { status: postgres === 'ok' && redis === 'ok' ? ('ok' as const) : ('error' as const), checks: { postgres, redis } };
}

export const healthRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/healthz',
      tags: ['Operations'],
      summary: 'The process is up',
      security: [],
      responses: { 200: json(Health, 'Up') },
    }),
    (c) => c.json({ status: 'ok' as const }, 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/readyz',
      tags: ['Operations'],
      summary: 'Postgres and Redis answer',
      security: [],
      responses: { 200: json(Readiness, 'Ready'), 503: json(Readiness, 'Postgres or Redis does not answer') },
    }),
    async (c) => {
      const result = await readiness(c.get('deps'));
      return result.status === 'ok' ? c.json(result, 200) : c.json(result, 503);
    },
  );
