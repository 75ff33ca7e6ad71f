/**
 * A signal for one piece of work: it fires when `parent` does (with the parent's reason) and,
 * given `timeout`, after `timeout.ms` with `timeout.reason`. Call `release()` when the work ends:
 * it clears the timer and stops following the parent. One signal and one listener, where
 * `AbortSignal.any` would make a second signal and keep weak references to both.
 */
export function childSignal(parent: AbortSignal | undefined, timeout?: { ms: number; reason: unknown }): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const follow = () => controller.abort(parent?.reason);
  if (parent?.aborted) follow();
  else parent?.addEventListener('abort', follow, { once: true });
  const timer = timeout && setTimeout(() => controller.abort(timeout.reason), timeout.ms);
  return {
    signal: controller.signal,
    release: () => {
      clearTimeout(timer);
      parent?.removeEventListener('abort', follow);
    },
  };
}
