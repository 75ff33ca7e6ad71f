import { Hono } from 'hono';
import { consoleGate, requireSession, verifyCsrf } from './auth/middleware.ts';
import type { ConsoleEnv } from './env.ts';

/** A router for one console section: off without admin credentials, signed in only, CSRF-checked posts. */
export function guardedRouter(): Hono<ConsoleEnv> {
  const router = new Hono<ConsoleEnv>();
  router.use('*', consoleGate, requireSession, verifyCsrf);
  return router;
}
