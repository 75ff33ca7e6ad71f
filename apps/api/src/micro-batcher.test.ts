import { describe, expect, it } from 'vitest';
import { MicroBatcher } from './micro-batcher.ts';

describe('MicroBatcher', () => {
  it('sends a lone item at once and gathers the items that arrive while a call is in flight', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        calls.push(items);
        if (calls.length === 1) await gate;
        return items.map((n) => n * 10);
      },
      { maxBatch: 3, maxInFlight: 1 },
    );
    const first = batcher.submit(1);
    const rest = [2, 3, 4, 5].map((n) => batcher.submit(n));
    expect(calls).toEqual([[1]]);
    release();
    expect(await Promise.all([first, ...rest])).toEqual([10, 20, 30, 40, 50]);
    expect(calls).toEqual([[1], [2, 3, 4], [5]]);
  });

  it('rejects every item of a failed call and keeps serving later ones', async () => {
    let fail = true;
    const batcher = new MicroBatcher<number, number>(
      async (items) => {
        if (fail) throw new Error('boom');
        return items;
      },
      { maxBatch: 10, maxInFlight: 1 },
    );
    await expect(batcher.submit(1)).rejects.toThrow('boom');
    fail = false;
    expect(await batcher.submit(2)).toBe(2);
  });
});
