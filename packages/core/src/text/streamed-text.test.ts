import { describe, expect, it } from 'vitest';
import { StreamedText } from './streamed-text.ts';

describe('StreamedText', () => {
  it('reads back every fragment in order, across joins', () => {
    const text = new StreamedText();
    const fragments = Array.from({ length: 100 }, (_, index) => `w${index} `);
    fragments.forEach((fragment, index) => {
      text.append(fragment);
      if (index === 10) expect(text.toString()).toBe(fragments.slice(0, 11).join(''));
    });
    expect(text.toString()).toBe(fragments.join(''));
  });

  it('is empty until something arrives, and ignores empty fragments', () => {
    const text = new StreamedText();
    expect(text.toString()).toBe('');
    text.append('');
    expect(text.toString()).toBe('');
    text.append('a');
    text.append('');
    expect(text.toString()).toBe('a');
  });

  it('keeps surrogate pairs split across fragments whole', () => {
    const text = new StreamedText();
    const emoji = '😀';
    text.append(emoji[0]!);
    text.append(emoji[1]!);
    expect(text.toString()).toBe(emoji);
  });
});
