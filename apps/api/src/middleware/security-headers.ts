import { createMiddleware } from 'hono/factory';
import { secureHeaders } from 'hono/secure-headers';

const strictPolicy = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:'],
  fontSrc: ["'self'"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

const common = {
  xFrameOptions: 'DENY',
  xContentTypeOptions: 'nosniff',
  referrerPolicy: 'same-origin',
  // HSTS belongs to whoever terminates TLS; this process may be served over plain HTTP.
  strictTransportSecurity: false,
  crossOriginEmbedderPolicy: false,
} as const;

const strict = secureHeaders({ ...common, contentSecurityPolicy: strictPolicy });

/**
 * bull-board (@bull-board/ui 9.x) inserts one fixed <style> element from its React bundle;
 * that one block, by its hash, is allowed on the dashboard only. No inline script, no other
 * inline style, nothing from another origin.
 */
export const DASHBOARD_STYLE_HASH = "'sha256-r2N1TB/gHbBtBZFKg7ejmq1acVSREzucTAEw6ga4hoU='";
const dashboard = secureHeaders({
  ...common,
  contentSecurityPolicy: { ...strictPolicy, styleSrcElem: ["'self'", DASHBOARD_STYLE_HASH], styleSrcAttr: ["'unsafe-hashes'", DASHBOARD_STYLE_HASH] },
});

/**
 * The headers of every answer, pages for people (console, API reference, queue dashboard)
 * included: a Content-Security-Policy that allows scripts, styles, fonts and connections
 * from this origin only (no inline code, no other origin), no framing (`frame-ancestors
 * 'none'` and `X-Frame-Options: DENY`), `nosniff`, and a referrer policy that never sends
 * a console URL to another site.
 */
export const securityHeaders = createMiddleware(async (c, next) =>
  (c.req.path === '/admin/queues' || c.req.path.startsWith('/admin/queues/') ? dashboard : strict)(c, next),
);
