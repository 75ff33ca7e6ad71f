import { createHmac, randomBytes } from 'node:crypto';
import type { Config } from '@conveyor/core';
import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';

export const SESSION_COOKIE = 'conveyor_session';
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

export interface Session {
  user: string;
  /** The per-session CSRF token every console form carries in a hidden field. */
  csrfToken: string;
  /** Unix seconds. */
  expiresAt: number;
}

const processKey = randomBytes(32);
const keys = new WeakMap<Config, Buffer>();

/**
 * The cookie signing key. With ENCRYPTION_KEY set it is derived from ENCRYPTION_KEY and the
 * admin credentials, so sessions survive restarts, work on every replica, and end when the
 * password changes. Without it a random key per process is used (sessions end on restart).
 */
export function sessionSigningKey(config: Config): Buffer {
  let key = keys.get(config);
  if (!key) {
    const secret = config.ENCRYPTION_KEY ?? processKey;
    key = createHmac('sha256', secret)
      .update(`conveyor-console-session\0${config.ADMIN_USER}\0${config.ADMIN_PASSWORD}`)
      .digest();
    keys.set(config, key);
  }
  return key;
}

function isSecureRequest(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}

export async function startSession(c: Context, config: Config, user: string): Promise<Session> {
  const session: Session = {
    user,
    csrfToken: randomBytes(24).toString('base64url'),
    expiresAt: Math.floor(Date.now() / 1000) + SESSION_TTL_SECONDS,
  };
  await setSignedCookie(c, SESSION_COOKIE, JSON.stringify(session), sessionSigningKey(config), {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: isSecureRequest(c),
    maxAge: SESSION_TTL_SECONDS,
  });
  return session;
}

export async function readSession(c: Context, config: Config): Promise<Session | null> {
  const raw = await getSignedCookie(c, sessionSigningKey(config), SESSION_COOKIE);
  if (!raw) return null;
  try {
    const session = JSON.parse(raw) as Partial<Session>;
    if (
      typeof session.user !== 'string' ||
      typeof session.csrfToken !== 'string' ||
      typeof session.expiresAt !== 'number' ||
      session.expiresAt * 1000 <= Date.now() ||
      session.user !== config.ADMIN_USER
    ) {
      return null;
    }
    return session as Session;
  } catch {
    return null;
  }
}

export function endSession(c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/' });
}
