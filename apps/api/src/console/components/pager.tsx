/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
/** Cursor pagination: "Older" follows `nextCursor`; "Newest" goes back to the first page. Other query parameters are kept. */
export function Pager({ base, cursor, nextCursor, params = {} }: { base: string; cursor: string | undefined; nextCursor: string | null; params?: Record<string, string | undefined> }) {
  if (!cursor && !nextCursor) return null;
  const link = (extra: Record<string, string>) => {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries({ ...params, ...extra })) if (value) query.set(key, value);
    const text = query.toString();
    return text ? `${base}?${text}` : base;
  };
  return (
    <nav class="pager" aria-label="Pages">
      {cursor && (
        <a class="button secondary" href={link({})}>
          ← Newest
        </a>
      )}
      {nextCursor && (
        <a class="button secondary" href={link({ cursor: nextCursor })} rel="next">
          Older →
        </a>
      )}
    </nav>
  );
}
