import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';

/**
 * What the request says about its client. `X-Forwarded-*` headers are believed only with
 * TRUST_PROXY=true (a reverse proxy in front sets them); otherwise anyone could claim any
 * address or scheme. Of `X-Forwarded-For` the last address is taken: the one the proxy in
 * front saw (earlier entries come from the client and may be made up).
 */
export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // not served over a socket (tests call app.request)
  }
}

export function isSecureRequest(c: Context, trustProxy: boolean): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}
