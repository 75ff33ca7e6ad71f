import { Marked, type Tokens } from 'marked';

const htmlEscapes: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => htmlEscapes[char]!);
}

/** Links may only point at the web or mail; `javascript:`, `data:` and the like become plain text. */
function safeHref(href: string): string | null {
  const trimmed = href.trim();
  if (/^(https?:|mailto:)/i.test(trimmed)) return trimmed;
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return null;
  return trimmed;
}

/**
 * Markdown for model output. Model output is untrusted: raw HTML is shown as text,
 * links are restricted to safe schemes and open without a referrer, and images are
 * shown as links so that output can never make the browser load anything by itself.
 */
const markdown = new Marked({ gfm: true, breaks: false, async: false }).use({
  renderer: {
    html({ text }: Tokens.HTML | Tokens.Tag) {
      return escapeHtml(text);
    },
    link({ href, title, tokens }: Tokens.Link) {
      const label = this.parser.parseInline(tokens);
      const target = safeHref(href);
      if (target === null) return label;
      const titleAttribute = title ? ` title="${escapeHtml(title)}"` : '';
      return `<a href="${escapeHtml(target)}"${titleAttribute} rel="noopener noreferrer nofollow">${label}</a>`;
    },
    image({ href, text }: Tokens.Image) {
      const target = safeHref(href);
      const label = escapeHtml(text || href);
      if (target === null) return label;
      return `<a href="${escapeHtml(target)}" rel="noopener noreferrer nofollow">[image: ${label}]</a>`;
    },
  },
});

/** Renders untrusted Markdown to HTML that contains no markup the text did not ask for through Markdown. */
export function renderMarkdown(source: string): string {
  return markdown.parse(source) as string;
}
