/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { CSRF_FIELD } from '../auth/middleware.ts';

export function CsrfField({ token }: { token: string }) {
  return <input type="hidden" name={CSRF_FIELD} value={token} />;
}
