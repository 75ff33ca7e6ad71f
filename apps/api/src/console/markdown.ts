import { Marked } from 'marked';
import { escapeHtml, markdownExtension, markdownOptions } from './markdown-renderer.js';

export { escapeHtml };

/** The same rules the live run page applies in the browser (markdown-renderer.js). */
const markdown = new Marked(markdownOptions).use(markdownExtension);

/** Renders untrusted Markdown to HTML that contains no markup the text did not ask for through Markdown. */
export function renderMarkdown(source: string): string {
  return markdown.parse(source) as string;
}
