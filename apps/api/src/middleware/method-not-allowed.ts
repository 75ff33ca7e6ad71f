import type { Hono, NotFoundHandler } from 'hono';
import type { AppEnv } from '../context.ts';

interface RoutePattern {
  pattern: RegExp;
  method: string;
}

/** A Hono route path (`/v1/agents/:id`, `:name{regex}`, `*`) as an anchored regular expression. */
export function routePattern(path: string): RegExp {
  const source = path
    .split('/')
    .map((segment) => {
      if (segment === '*') return '.*';
      const param = /^:\w+(?:\{(.+)\})?(\?)?$/.exec(segment);
      if (param) return param[1] ? `(?:${param[1]})` : '[^/]+';
      return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/** The methods the app answers on a path, HEAD included where GET is; empty for an unknown path. */
export function allowedMethods(routes: RoutePattern[], path: string): string[] {
  const methods = new Set(routes.filter((route) => route.pattern.test(path)).map((route) => route.method));
  if (methods.has('GET')) methods.add('HEAD');
  return [...methods].sort();
}

/**
 * The app's not-found handler: a known path asked with a method it does not answer is
 * `405 method_not_allowed` with `Allow`; anything else is `404 not_found`.
 */
export function notFoundOrMethodNotAllowed(app: Hono<AppEnv>): NotFoundHandler<AppEnv> {
  let routes: RoutePattern[] | undefined;
  return (c) => {
    routes ??= app.routes
      .filter((route) => route.method !== 'ALL')
      .map((route) => ({ pattern: routePattern(route.path), method: route.method.toUpperCase() }));
    const allowed = allowedMethods(routes, c.req.path);
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      return c.json(
        { error: { code: 'method_not_allowed', message: `${c.req.method} is not allowed on ${c.req.path}; use ${allowed.join(', ')}` } },
        405,
        { Allow: allowed.join(', ') },
      );
    }
    return c.json({ error: { code: 'not_found', message: `no route ${c.req.method} ${c.req.path}` } }, 404);
  };
}
