/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */

/**
 * Copy and Download for one output (console.js does both in the browser). The raw text sits in a
 * hidden textarea beside the rendered Markdown; the live run page keeps it current as text streams.
 */
export function OutputActions({ target, text, filename }: { target: string; text: string | null | undefined; filename: string }) {
  return (
    <div class={`output-actions${text ? '' : ' empty-output'}`} id={`${target}-actions`}>
      <textarea hidden readonly id={`${target}-raw`} aria-hidden="true">
        {text ?? ''}
      </textarea>
      <button type="button" class="secondary small" data-copy={`${target}-raw`}>
        Copy
      </button>
      <button type="button" class="secondary small" data-download={`${target}-raw`} data-filename={filename}>
        Download
      </button>
    </div>
  );
}
