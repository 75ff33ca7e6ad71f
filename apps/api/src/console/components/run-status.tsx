/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
export function StatusBadge({ status, id }: { status: string; id?: string }) {
  return (
    <span class={`badge ${status}`} id={id} data-status={status}>
      {status}
    </span>
  );
}
