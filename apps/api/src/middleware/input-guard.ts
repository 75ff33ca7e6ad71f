import { hasUnstorableText } from '@conveyor/core';
import { createMiddleware } from 'hono/factory';
import { ApiError, validationError } from '../errors.ts';

/** Deeper JSON than this is refused: no real input needs it, and deep values overflow the stack further on. */
export const MAX_JSON_DEPTH = 64;

const unstorableMessage = 'must not contain U+0000 or unpaired UTF-16 surrogates';

/** The deepest nesting of arrays and objects in JSON text, read without parsing (no recursion). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === 0x5c) i++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x7b || char === 0x5b) deepest = Math.max(deepest, ++depth);
    else if (char === 0x7d || char === 0x5d) depth--;
  }
  return deepest;
}

/** The path (as `body.a.0.b`) of the first string or key Postgres cannot store, if any. */
function firstUnstorable(value: unknown, path: string): string | undefined {
  if (typeof value === 'string') return hasUnstorableText(value) ? path : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = firstUnstorable(value[i], `${path}.${i}`);
      if (found) return found;
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (hasUnstorableText(key)) return `${path}.${key.replace(/[\u0000\uD800-\uDFFF]/g, '\uFFFD')}`;
      const found = firstUnstorable(inner, `${path}.${key}`);
      if (found) return found;
    }
  }
  return undefined;
}

function decodedOrRaw(part: string): string {
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function refused(where: string): ApiError {
  return validationError(`${where}: ${unstorableMessage}`, [{ path: where.split('.'), message: unstorableMessage, code: 'invalid_string' }]);
}

async function checkBody(contentType: string, read: () => Promise<string>): Promise<void> {
  if (/^application\/([\w.+-]*\+)?json\b/i.test(contentType)) {
    const text = await read();
    if (jsonDepth(text) > MAX_JSON_DEPTH) throw validationError(`body: JSON nested deeper than ${MAX_JSON_DEPTH} levels`);
    // A parsed string can hold U+0000 or a lone surrogate only from a `\u` escape or from the
    // same character in the text itself: without either, there is nothing to look for.
    if (!text.includes('\\u') && !hasUnstorableText(text)) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return; // malformed JSON is the validator's to report
    }
    const where = firstUnstorable(parsed, 'body');
    if (where) throw refused(where);
  } else if (/^application\/x-www-form-urlencoded\b/i.test(contentType)) {
    for (const [key, value] of new URLSearchParams(await read())) {
      if (hasUnstorableText(key) || hasUnstorableText(value)) throw refused(`body.${key.replace(/\u0000/g, '\uFFFD')}`);
    }
  }
}

/**
 * Refuses, before any handler or database call, what Postgres cannot store or what would
 * exhaust the stack: U+0000 and lone surrogates in a path (404: no such resource), a query
 * or a JSON or form body (400), and JSON nested deeper than MAX_JSON_DEPTH (400).
 */
export const inputGuard = createMiddleware(async (c, next) => {
  const url = c.req.url;
  const queryStart = url.indexOf('?');
  const pathPart = c.req.path;
  if (pathPart.split('/').some((segment) => hasUnstorableText(decodedOrRaw(segment)))) {
    throw new ApiError(404, 'not_found', 'no such resource: the path holds U+0000 or an unpaired surrogate');
  }
  if (queryStart !== -1) {
    for (const [key, value] of new URLSearchParams(url.slice(queryStart + 1))) {
      if (hasUnstorableText(key) || hasUnstorableText(value)) throw refused(`query.${key.replace(/\u0000/g, '\uFFFD')}`);
    }
  }
  const contentType = c.req.header('content-type');
  if (contentType && c.req.method !== 'GET' && c.req.method !== 'HEAD') await checkBody(contentType, () => c.req.text());
  await next();
});
