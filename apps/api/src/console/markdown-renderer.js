// The Markdown rules for model output, shared by the server (markdown.ts) and the live run page in
// the browser, so text renders the same while it streams and once the run has ended.
// Plain JavaScript without imports: the browser loads this file as it is.

const htmlEscapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(text) {
  return text.replace(/[&<>"']/g, (char) => htmlEscapes[char]);
}

/** Links may only point at the web or mail; `javascript:`, `data:` and the like become plain text. */
function safeHref(href) {
  const trimmed = href.trim();
  if (/^(https?:|mailto:)/i.test(trimmed)) return trimmed;
  if (/^[a-z][a-z0-9+.-]*:/i.test(trimmed)) return null;
  return trimmed;
}

/** Options for `new Marked(...)`. */
export const markdownOptions = { gfm: true, breaks: false, async: false };

/**
 * Model output is untrusted: raw HTML is shown as text, links are restricted to safe schemes and
 * open without a referrer, and images are shown as links so that output can never make the
 * browser load anything by itself.
 */
export const markdownExtension = {
  renderer: {
    html({ text }) {
      return escapeHtml(text);
    },
    link({ href, title, tokens }) {
      const label = this.parser.parseInline(tokens);
      const target = safeHref(href);
      if (target === null) return label;
      const titleAttribute = title ? ` title="${escapeHtml(title)}"` : '';
      return `<a href="${escapeHtml(target)}"${titleAttribute} rel="noopener noreferrer nofollow">${label}</a>`;
    },
    image({ href, text }) {
      const target = safeHref(href);
      const label = escapeHtml(text || href);
      if (target === null) return label;
      return `<a href="${escapeHtml(target)}" rel="noopener noreferrer nofollow">[image: ${label}]</a>`;
    },
  },
};
