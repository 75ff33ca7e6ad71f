/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { Notice } from './notice.tsx';

/** Runs that reach an agent on `__default__` are refused while Settings has no default model. */
export function UnsetDefaultWarning({ message }: { message: string }) {
  return (
    <Notice kind="warn">
      <span class="unset-default">{`${message} No default model is set, so runs that reach such an agent are refused. `}</span>
      Choose one in <a href="/settings">Settings</a>, or give the agent a model.
    </Notice>
  );
}
