import { timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { csrf } from 'hono/csrf';
import { HTTPException } from 'hono/http-exception';
import type { ConsoleEnv } from '../env.ts';
import { consoleEnabled } from './credentials.ts';
import { readSession } from './session.ts';
import { renderForbidden } from '../pages/errors.tsx';

export const CSRF_FIELD = '_csrf';

/** No admin credentials: the console does not exist (404), it is never open. */
export const consoleGate: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  if (!consoleEnabled(c.get('deps').config)) return c.notFound();
  await next();
};

/** Pages need a session; without one the browser goes to the login, and comes back afterwards. */
export const requireSession: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  const session = await readSession(c, c.get('deps'));
  if (!session) {
    const url = new URL(c.req.url);
    const back = c.req.method === 'GET' ? `${url.pathname}${url.search}` : '/runs';
    return c.redirect(`/login?next=${encodeURIComponent(back)}`, 303);
  }
  c.set('session', session);
  await next();
};

/**
 * Form posts must come from this site (hono/csrf: Sec-Fetch-Site or Origin; the Origin's host is
 * compared, not its scheme, so a TLS-terminating proxy in front works).
 */
const originCheck = csrf({
  origin: (origin, c) => {
    try {
      return new URL(origin).host === (c.req.header('host') ?? new URL(c.req.url).host);
    } catch {
      return false;
    }
  },
});

export async function fromThisSite(c: Context): Promise<boolean> {
  try {
    await originCheck(c, async () => {});
    return true;
  } catch (error) {
    if (error instanceof HTTPException && error.status === 403) return false;
    throw error;
  }
}

export function tokensEqual(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Every console form post: from this site, and carrying the session's CSRF token in a hidden field. */
export const verifyCsrf: MiddlewareHandler<ConsoleEnv> = async (c, next) => {
  if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
  const originOk = await fromThisSite(c);
  const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
  const token = form[CSRF_FIELD];
  if (!originOk || typeof token !== 'string' || !tokensEqual(token, c.get('session').csrfToken)) {
    return c.html(renderForbidden(), 403);
  }
  await next();
};
