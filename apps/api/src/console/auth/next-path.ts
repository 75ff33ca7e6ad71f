/** Where a sign-in leads when `next` is missing or refused. */
export const DEFAULT_NEXT = '/runs';

/** The first path segments of the console's own pages (and the queue dashboard behind the same sign-in). */
const consoleSections = new Set(['runs', 'pipelines', 'agents', 'artifacts', 'settings', 'admin']);

const base = 'http://console.invalid';

/**
 * `next` as a path of the console itself, or DEFAULT_NEXT. It is parsed as a URL relative to
 * a placeholder origin and accepted only if it stays on that origin and names a console
 * section; control characters (a decoded %09, %0A or %0D%0A) and backslashes, which
 * browsers strip or turn into `/`, refuse it outright. The answer is the URL's own
 * serialisation (percent-encoded), so it is always safe in a Location header.
 */
export function consoleNextPath(next: string | undefined | null): string {
  if (!next || next.length > 2048) return DEFAULT_NEXT;
  if (/[\u0000-\u001f\u007f\\]/.test(next) || !next.startsWith('/') || next.startsWith('//')) return DEFAULT_NEXT;
  let url: URL;
  try {
    url = new URL(next, base);
  } catch {
    return DEFAULT_NEXT;
  }
  if (url.origin !== base || url.username || url.password) return DEFAULT_NEXT;
  const section = url.pathname.split('/')[1] ?? '';
  if (!consoleSections.has(section)) return DEFAULT_NEXT;
  return `${url.pathname}${url.search}${url.hash}`;
}
