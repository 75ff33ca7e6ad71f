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

/** A form's validation errors, as one error notice; nothing when there are none. */
export function FormErrors({ errors }: { errors?: string[] | undefined }) {
  if (!errors || errors.length === 0) return null;
  return (
    <Notice kind="error">
      <ul>
        {errors.map((message) => (
          <li>{message}</li>
        ))}
      </ul>
    </Notice>
  );
}

export function EmptyState({ children }: { children?: Child }) {
  return <div class="empty">{children}</div>;
}
