import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';
import { credentialsMatch } from '../console/auth/credentials.ts';

const challenge = 'Basic realm="Conveyor admin", charset="UTF-8"';

function readBasicCredentials(header: string | undefined): { user: string; password: string } | undefined {
  const match = /^Basic +([A-Za-z0-9+/=]+) *$/i.exec(header ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** HTTP basic auth against ADMIN_USER / ADMIN_PASSWORD (compared in constant time). */
export const adminBasicAuth = createMiddleware<AppEnv>(async (c, next) => {
  const given = readBasicCredentials(c.req.header('authorization'));
  if (!given || !credentialsMatch(c.var.deps.config, given.user, given.password)) {
    const error = new ApiError(401, 'unauthorized', 'admin credentials are required');
    return c.json(error.toBody(), 401, { 'WWW-Authenticate': challenge });
  }
  await next();
});
