import type { Hook } from '@hono/zod-openapi';
import type { ErrorHandler, NotFoundHandler } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ZodError } from 'zod';
import type { AppEnv } from '../context.ts';
import { ApiError } from '../errors.ts';

const codeByStatus: Record<number, string> = {
  400: 'validation_error',
  401: 'unauthorized',
  404: 'not_found',
  405: 'method_not_allowed',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  429: 'rate_limited',
  503: 'unavailable',
};

const targetNames: Record<string, string> = { json: 'body', query: 'query', param: 'path', header: 'header' };

/** Zod issues as `[{ path, message, code }]`, where `path` starts with the request part. */
export function issuesOf(error: ZodError, target: string) {
  const where = targetNames[target] ?? target;
  return error.issues.map((issue) => ({
    path: [where, ...issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part))],
    message: issue.message,
    code: issue.code,
  }));
}

export function validationFailure(error: ZodError, target: string): ApiError {
  const issues = issuesOf(error, target);
  const first = issues[0];
  const message = first ? `${first.path.join('.')}: ${first.message}` : 'invalid request';
  return new ApiError(400, 'validation_error', message, issues);
}

/** Every route's validation failure becomes a 400 `validation_error` listing the issues. */
export const validationHook: Hook<unknown, AppEnv, string, Response | undefined> = (result, c) => {
  if (!result.success) {
    const failure = validationFailure(result.error, result.target);
    return c.json(failure.toBody(), failure.status);
  }
  return undefined;
};

export const onError: ErrorHandler<AppEnv> = (error, c) => {
  if (error instanceof ApiError) return c.json(error.toBody(), error.status);
  if (error instanceof HTTPException && error.status < 500) {
    const status = error.status;
    const code = codeByStatus[status] ?? 'bad_request';
    const message = status === 413 ? 'the request body is too large' : error.message || code;
    return c.json({ error: { code, message } }, status);
  }
  const logger = c.get('logger') ?? c.get('deps')?.logger;
  if (isUnavailable(error)) {
    logger?.warn({ err: error, requestId: c.get('requestId') }, 'a backing service is unavailable');
    return c.json({ error: { code: 'unavailable', message: 'a backing service is unavailable; try again shortly' } }, 503);
  }
  logger?.error({ err: error, requestId: c.get('requestId'), method: c.req.method, path: c.req.path }, 'unexpected error');
  return c.json(
    { error: { code: 'internal_error', message: `internal error; quote request id ${c.get('requestId') ?? 'unknown'} when reporting it` } },
    500,
  );
};

/**
 * "Cannot reach / timed out / out of connections" errors of Prisma, node-postgres (SQLSTATE
 * 53300 too many connections, 57P01-3 shutting down) and sockets: the request was fine, the
 * database was not.
 */
const unavailableCodes = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', '53300', '57P01', '57P02', '57P03']);

function isUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  return (
    error.name === 'PrismaClientInitializationError' ||
    (typeof code === 'string' && unavailableCodes.has(code)) ||
    (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'].includes(code)) ||
    /too many (database )?(clients|connections)/i.test(error.message)
  );
}

export const onNotFound: NotFoundHandler<AppEnv> = (c) =>
  c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404);
