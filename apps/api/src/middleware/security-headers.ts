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
 * A `/v1` answer is data, never a page: a browser that opens one may load nothing and frame
 * nothing (the policy OWASP's REST Security Cheat Sheet gives for APIs). The headers that only
 * shape a document (opener policy, agent cluster, DNS prefetch, download and cross-domain
 * options, the XSS auditor) are left out: each header costs every answer of the hot path.
 */
const api = secureHeaders({
  ...common,
  contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  crossOriginOpenerPolicy: false,
  originAgentCluster: false,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
  removePoweredBy: false,
});

/**
 * The headers of every answer. Pages for people (console, API reference, queue dashboard)
 * get a Content-Security-Policy that allows scripts, styles, fonts and connections from this
 * origin only (no inline code, no other origin); API answers one that allows nothing. All
 * get no framing (`frame-ancestors 'none'` and `X-Frame-Options: DENY`), `nosniff`, and a
 * referrer policy that never sends a console URL to another site.
 */
export const securityHeaders = createMiddleware(async (c, next) => {
  const path = c.req.path;
  if (path.startsWith('/v1/')) return api(c, next);
  return (path === '/admin/queues' || path.startsWith('/admin/queues/') ? dashboard : strict)(c, next);
});
