import { describe, expect, it } from 'vitest';
import { compareOrdinal } from './ordinal.ts';

describe('compareOrdinal', () => {
  it('ties only on the same string, where a locale ties distinct ones', () => {
    const pairs: [string, string][] = [
      ['a\u0000bc', 'ab\u0000c'],
      ['key\u00AD1', 'key1'],
      ['\u00E9', 'e\u0301'],
    ];
    for (const [a, b] of pairs) {
      expect(a.localeCompare(b), JSON.stringify([a, b])).toBe(0);
      expect(compareOrdinal(a, b), JSON.stringify([a, b])).not.toBe(0);
      expect(Math.sign(compareOrdinal(a, b))).toBe(-Math.sign(compareOrdinal(b, a)));
    }
    expect(compareOrdinal('same', 'same')).toBe(0);
  });

  it('orders ISO days and code units as `<` does', () => {
    expect(['2026-12-01', '2025-01-31', '2026-02-28'].sort(compareOrdinal)).toEqual(['2025-01-31', '2026-02-28', '2026-12-01']);
    expect(['b', 'B', 'a', 'A'].sort(compareOrdinal)).toEqual(['A', 'B', 'a', 'b']);
  });
});
