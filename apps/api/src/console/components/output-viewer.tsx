/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { raw } from 'hono/html';
import { renderMarkdown } from '../markdown.ts';

/** The one way the console shows model output: Markdown with raw HTML shown as text. */
export function OutputViewer({ text, id }: { text: string | null | undefined; id?: string }) {
  if (text === null || text === undefined || text === '') {
    return (
      <div class="output muted" id={id}>
        (no output)
      </div>
    );
  }
  return (
    <div class="output" id={id}>
      {raw(renderMarkdown(text))}
    </div>
  );
}
