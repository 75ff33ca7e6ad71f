import { createMiddleware } from 'hono/factory';
import { bodyLimit as streamingBodyLimit } from 'hono/body-limit';
import { payloadTooLarge } from '../errors.ts';

/**
 * Hono's body limit, with a fast path: a request that declares its length (no
 * transfer-encoding) is judged by its Content-Length header alone, and a GET or HEAD
 * is let through, without touching the request body. (Touching `c.req.raw.body` makes
 * @hono/node-server build a full web Request for every request, a large share of the
 * cost of a small POST.) A chunked body is counted as it streams in.
 */
export function bodyLimit(maxSize: number) {
  const streaming = streamingBodyLimit({
    maxSize,
    onError: () => {
      throw payloadTooLarge(maxSize);
    },
  });
  return createMiddleware(async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      if (Number.parseInt(length, 10) > maxSize) throw payloadTooLarge(maxSize);
      return next();
    }
    return streaming(c, next);
  });
}
