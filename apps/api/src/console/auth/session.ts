import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { Config } from '@conveyor/core';
import type { Context } from 'hono';
import { deleteCookie, getSignedCookie, setSignedCookie } from 'hono/cookie';
import type { ApiDeps } from '../../context.ts';
import { isSecureRequest } from '../../middleware/client.ts';

export const SESSION_COOKIE = 'conveyor_session';
export const SESSION_TTL_SECONDS = 12 * 60 * 60;

export interface Session {
  user: string;
  /** The per-session CSRF token every console form carries in a hidden field. */
  csrfToken: string;
  /** Unix seconds. */
  expiresAt: number;
}

interface StoredSession extends Session {
  /** Which admin credentials signed it in: a changed password ends every session. */
  credentials: string;
}

const processKey = randomBytes(32);
const keys = new WeakMap<Config, Buffer>();

/**
 * The cookie signing key. With ENCRYPTION_KEY set it is derived from ENCRYPTION_KEY and the
 * admin credentials, so cookies work on every replica and after restarts, and none signed
 * before a password change verifies after it. Without it a random key per process is used.
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

const credentialsOf = (config: Config) =>
  createHash('sha256').update(`conveyor-console-credentials\0${config.ADMIN_USER}\0${config.ADMIN_PASSWORD}`).digest('base64url');

/** Sessions live in Redis under a digest of their id: the cookie alone is worth nothing once revoked. */
const sessionKey = (config: Config, id: string) =>
  `${config.REDIS_PREFIX}:console:session:${createHash('sha256').update(id).digest('base64url')}`;

type SessionDeps = Pick<ApiDeps, 'config' | 'redis'>;

export async function startSession(c: Context, deps: SessionDeps, user: string): Promise<Session> {
  const id = randomBytes(32).toString('base64url');
  const session: StoredSession = {
    user,
    csrfToken: randomBytes(24).toString('base64url'),
    expiresAt: Math.floor(Date.now() / 1000) + SESSION_TTL_SECONDS,
    credentials: credentialsOf(deps.config),
  };
  await deps.redis.set(sessionKey(deps.config, id), JSON.stringify(session), 'EX', SESSION_TTL_SECONDS);
  await setSignedCookie(c, SESSION_COOKIE, id, sessionSigningKey(deps.config), {
    path: '/',
    httpOnly: true,
    sameSite: 'Lax',
    secure: isSecureRequest(c, deps.config.TRUST_PROXY),
    maxAge: SESSION_TTL_SECONDS,
  });
  return { user: session.user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
}

async function sessionId(c: Context, config: Config): Promise<string | undefined> {
  const id = await getSignedCookie(c, sessionSigningKey(config), SESSION_COOKIE);
  return typeof id === 'string' && /^[A-Za-z0-9_-]{43}$/.test(id) ? id : undefined;
}

/** The signed-in session, if the cookie names one that exists, has not expired and was made with today's credentials. */
export async function readSession(c: Context, deps: SessionDeps): Promise<Session | null> {
  const id = await sessionId(c, deps.config);
  if (!id) return null;
  const raw = await deps.redis.get(sessionKey(deps.config, id));
  if (!raw) return null;
  try {
    const session = JSON.parse(raw) as Partial<StoredSession>;
    if (
      typeof session.user !== 'string' ||
      typeof session.csrfToken !== 'string' ||
      typeof session.expiresAt !== 'number' ||
      session.expiresAt * 1000 <= Date.now() ||
      session.user !== deps.config.ADMIN_USER ||
      session.credentials !== credentialsOf(deps.config)
    ) {
      return null;
    }
    return { user: session.user, csrfToken: session.csrfToken, expiresAt: session.expiresAt };
  } catch {
    return null;
  }
}

/** Signs out: the session is deleted on the server (a copied cookie stops working) and the cookie cleared. */
export async function endSession(c: Context, deps: SessionDeps): Promise<void> {
  const id = await sessionId(c, deps.config);
  if (id) await deps.redis.del(sessionKey(deps.config, id));
  deleteCookie(c, SESSION_COOKIE, { path: '/' });
}
