import { describe, expect, it } from 'vitest';
import { hasUnstorableText, postgresSafeJson, postgresSafeText } from './postgres-safe.ts';

describe('postgresSafeText', () => {
  it('leaves ordinary text, emoji and paired surrogates untouched', () => {
    const text = 'héllo 👋 世界 \uD83D\uDE00 end';
    expect(postgresSafeText(text)).toEqual({ text, replaced: false });
  });

  it('turns U+0000 into U+FFFD and says so', () => {
    expect(postgresSafeText('a\u0000b\u0000')).toEqual({ text: 'a\uFFFDb\uFFFD', replaced: true });
  });

  it('turns a lone high surrogate into U+FFFD, also at the end of the text', () => {
    expect(postgresSafeText('x\uD800y\uDBFF')).toEqual({ text: 'x\uFFFDy\uFFFD', replaced: true });
  });

  it('turns a lone low surrogate into U+FFFD, also at the start of the text', () => {
    expect(postgresSafeText('\uDC00x\uDFFF')).toEqual({ text: '\uFFFDx\uFFFD', replaced: true });
  });

  it('keeps a valid pair next to a lone surrogate', () => {
    expect(postgresSafeText('\uD800\uD83D\uDE00\uDE00')).toEqual({ text: '\uFFFD\uD83D\uDE00\uFFFD', replaced: true });
  });

  it('gives text whose UTF-8 round trip is lossless', () => {
    const { text } = postgresSafeText('a\uD800\u0000\uDC00b');
    expect(Buffer.from(text, 'utf8').toString('utf8')).toBe(text);
    expect(hasUnstorableText(text)).toBe(false);
  });

  it('answers the same on repeated calls (no regex state leaks between calls)', () => {
    expect(hasUnstorableText('\u0000')).toBe(true);
    expect(hasUnstorableText('\u0000')).toBe(true);
    expect(hasUnstorableText('ok')).toBe(false);
  });
});

describe('postgresSafeJson', () => {
  it('cleans strings and keys at any depth and says so', () => {
    const input = { 'k\u0000': ['ok', { deep: 'x\uD800' }], n: 1, b: true, z: null };
    expect(postgresSafeJson(input)).toEqual({ value: { 'k\uFFFD': ['ok', { deep: 'x\uFFFD' }], n: 1, b: true, z: null }, replaced: true });
  });

  it('returns the very same value when nothing needed replacing', () => {
    const input = { a: ['b', { c: 'd' }] };
    const result = postgresSafeJson(input);
    expect(result.replaced).toBe(false);
    expect(result.value).toBe(input);
  });
});
