import { contextFrom, inSpan, SpanKind, SpanStatusCode, traceparentOf, tracingEnabled } from '@conveyor/core';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context.ts';

/**
 * With tracing on, each request is a SERVER span continuing the caller's W3C `traceparent`
 * (a new trace without one), whose own `traceparent` is returned. Work done for the request,
 * such as a submitted run's job, carries this span's context.
 */
export const tracing = createMiddleware<AppEnv>(async (c, next) => {
  if (!tracingEnabled()) return next();
  const parent = contextFrom({ traceparent: c.req.header('traceparent'), tracestate: c.req.header('tracestate') });
  await inSpan(c.req.method, { kind: SpanKind.SERVER, parent, attributes: { 'http.request.method': c.req.method, 'url.path': c.req.path } }, async (span) => {
    const traceparent = traceparentOf(span);
    if (traceparent) c.header('traceparent', traceparent);
    await next();
    const route = c.req.matchedRoutes.filter((r) => r.method !== 'ALL').at(-1)?.path;
    if (route) span?.updateName(`${c.req.method} ${route}`).setAttribute('http.route', route);
    span?.setAttribute('http.response.status_code', c.res.status);
    if (c.res.status >= 500) span?.setStatus({ code: SpanStatusCode.ERROR });
  });
});
