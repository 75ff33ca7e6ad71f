import { randomUUID } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context.ts';

const acceptable = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * Takes the caller's `x-request-id` (if it looks like an id) or makes one, returns it
 * on the response, and gives the request a logger that carries it.
 */
export const requestId = createMiddleware<AppEnv>(async (c, next) => {
  const incoming = c.req.header('x-request-id');
  const id = incoming && acceptable.test(incoming) ? incoming : randomUUID();
  c.set('requestId', id);
  c.set('logger', c.get('deps').logger.child({ requestId: id }));
  c.header('x-request-id', id);
  await next();
});
