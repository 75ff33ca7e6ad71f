/**
 * Text Postgres cannot store: U+0000 (refused in `text` and `jsonb`) and lone UTF-16
 * surrogates (no UTF-8 form; `jsonb` refuses their `\uD8xx` escapes).
 */
const unstorable = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export interface PostgresSafeText {
  text: string;
  /** Whether any character was replaced by U+FFFD. */
  replaced: boolean;
}

/** Whether a string holds U+0000 or a lone surrogate. */
export function hasUnstorableText(value: string): boolean {
  unstorable.lastIndex = 0;
  return unstorable.test(value);
}

/** Replaces U+0000 and lone surrogates with U+FFFD so Postgres can store the text. */
export function postgresSafeText(value: string): PostgresSafeText {
  if (!hasUnstorableText(value)) return { text: value, replaced: false };
  return { text: value.replace(unstorable, '\uFFFD'), replaced: true };
}

/** The same for a JSON value: every string and object key inside it, at any depth. */
export function postgresSafeJson<T>(value: T): { value: T; replaced: boolean } {
  let replaced = false;
  const clean = (node: unknown): unknown => {
    if (typeof node === 'string') {
      const safe = postgresSafeText(node);
      replaced ||= safe.replaced;
      return safe.text;
    }
    if (Array.isArray(node)) return node.map(clean);
    if (node !== null && typeof node === 'object') {
      return Object.fromEntries(Object.entries(node).map(([key, inner]) => [clean(key) as string, clean(inner)]));
    }
    return node;
  };
  const result = clean(value) as T;
  return { value: replaced ? result : value, replaced };
}
