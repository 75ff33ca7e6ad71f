/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';

export function Notice({ kind, children }: { kind: 'error' | 'warn' | 'ok'; children?: Child }) {
  return (
    <div class={`notice ${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </div>
  );
}

export function EmptyState({ children }: { children?: Child }) {
  return <div class="empty">{children}</div>;
}
