import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './markdown.ts';

describe('renderMarkdown', () => {
  it('shows a script tag in model output as text', () => {
    const html = renderMarkdown('Hello <script>alert(1)</script> world\n\n<script>alert(2)</script>');
    expect(html).not.toContain('<script');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&lt;script&gt;alert(2)&lt;/script&gt;');
  });

  it('shows an img onerror tag as text', () => {
    const html = renderMarkdown('<img src=x onerror="alert(1)">\n\ninline <img src=x onerror=alert(2)> too');
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    expect(html).toContain('&lt;img src=x onerror=alert(2)&gt;');
  });

  it('drops javascript: links but keeps their text', () => {
    const html = renderMarkdown('[click](javascript:alert(1)) and [docs](https://example.com/a?b=1&c=2)');
    expect(html).not.toContain('javascript:');
    expect(html).toContain('click');
    expect(html).toContain('<a href="https://example.com/a?b=1&amp;c=2" rel="noopener noreferrer nofollow">docs</a>');
  });

  it('renders images as links so output never loads anything by itself', () => {
    const html = renderMarkdown('![a cat](https://example.com/cat.png) ![x](javascript:alert(1))');
    expect(html).not.toMatch(/<img/i);
    expect(html).toContain('[image: a cat]');
    expect(html).not.toContain('javascript:');
  });

  it('renders ordinary Markdown', () => {
    const html = renderMarkdown('# Title\n\n- **bold** item\n\n```\ncode <b>\n```');
    expect(html).toContain('<h1>Title</h1>');
    expect(html).toContain('<strong>bold</strong>');
    expect(html).toContain('code &lt;b&gt;');
  });
});
