import { describe, expect, it } from 'vitest';
import { compareEventIds } from './keys.ts';

const asNumbers = (id: string) => id.split('-').map((part) => BigInt(part || '0')) as [bigint, bigint];
const byNumbers = (a: string, b: string) => {
  const [aMs, aSeq] = asNumbers(a);
  const [bMs, bSeq] = asNumbers(b);
  return aMs !== bMs ? (aMs < bMs ? -1 : 1) : aSeq !== bSeq ? (aSeq < bSeq ? -1 : 1) : 0;
};

describe('compareEventIds', () => {
  it('orders ids as the numbers they hold, whatever their lengths and leading zeros', () => {
    const ids = ['0-0', '0-1', '0-10', '0-9', '9-0', '10-0', '1733400000000-0', '1733400000000-1', '1733400000000-12', '1733399999999-99',
      '007-3', '7-03', '18446744073709551615-18446744073709551615', '18446744073709551614-0', '99999999999999999999-0'];
    for (const a of ids) for (const b of ids) expect(compareEventIds(a, b), `${a} vs ${b}`).toBe(byNumbers(a, b));
  });

  it('agrees with numeric order on random stream ids', () => {
    let seed = 7;
    const random = (max: number) => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % max;
    const id = () => `${1_700_000_000_000 + random(5) * 10 ** random(6)}-${random(3) === 0 ? 0 : random(1000)}`;
    for (let i = 0; i < 2000; i++) {
      const a = id();
      const b = id();
      expect(compareEventIds(a, b), `${a} vs ${b}`).toBe(byNumbers(a, b));
    }
  });
});
