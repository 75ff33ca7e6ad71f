import { OpenAPIHono, type z } from '@hono/zod-openapi';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../context.ts';
import { validationFailure, validationHook } from '../middleware/errors.ts';

type HeaderSchema = z.ZodObject<z.ZodRawShape>;

/**
 * Validates the headers a route declares, reading each by name. The stock header validator
 * reads every header of the request (`c.req.header()`), which makes @hono/node-server copy
 * them all into a `Headers` object: a cost each request of the route pays for the one or two
 * headers it uses. Unknown headers are dropped either way, so the validated data is the same.
 */
function declaredHeaders(schema: HeaderSchema) {
  const names = Object.keys(schema.shape);
  return createMiddleware<AppEnv>(async (c, next) => {
    const given: Record<string, string> = {};
    for (const name of names) {
      const value = c.req.header(name);
      if (value !== undefined) given[name] = value;
    }
    const result = schema.safeParse(given);
    if (!result.success) throw validationFailure(result.error, 'header');
    c.req.addValidatedData('header', result.data);
    await next();
  });
}

/**
 * A router whose validation failures answer 400 `validation_error` in the API's error shape.
 * A route's `request.headers` is documented as declared and validated by `declaredHeaders`.
 */
export function createRouter(): OpenAPIHono<AppEnv> {
  const router = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  const openapi = router.openapi;
  router.openapi = ((route, handler, hook) => {
    const headers = route.request?.headers;
    if (!headers || Array.isArray(headers) || route.hide) return openapi(route, handler, hook);
    const { middleware, hide: _, ...documented } = route;
    router.openAPIRegistry.registerPath(documented);
    const before = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
    return openapi(
      { ...route, hide: true, request: { ...route.request, headers: undefined }, middleware: [...before, declaredHeaders(headers as HeaderSchema)] },
      handler,
      hook,
    );
  }) as typeof router.openapi;
  return router;
}

/** Bearer auth on a documented route. */
export const bearer = [{ bearerAuth: [] }];
