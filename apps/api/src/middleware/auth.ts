import { hash, timingSafeEqual } from 'node:crypto';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context.ts';
import { unauthorized } from '../errors.ts';

const digest = (token: string) => hash('sha256', token, 'buffer');

/**
 * How a caller is named where its actions are kept (an approval's decider): the first 12 hex
 * digits of the token's SHA-256, which tell tokens apart without revealing them.
 */
export const principalOf = (tokenDigest: Buffer) => `api:${tokenDigest.toString('hex').slice(0, 12)}`;

/**
 * Accepts `Authorization: Bearer <token>` for any of `tokens`. Digests have one length, so
 * the comparison takes the same time whatever the token; every configured token is compared.
 * With no tokens configured nothing is accepted.
 */
export function bearerAuth(tokens: readonly string[]) {
  const accepted = tokens.map(digest);
  return createMiddleware<AppEnv>(async (c, next) => {
    const match = /^Bearer +(\S+) *$/i.exec(c.req.header('authorization') ?? '');
    if (!match) throw unauthorized();
    const presented = digest(match[1]!);
    let ok = false;
    for (const token of accepted) ok = timingSafeEqual(token, presented) || ok;
    if (!ok) throw unauthorized();
    c.set('principal', principalOf(presented));
    await next();
  });
}
