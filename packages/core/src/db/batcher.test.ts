import { describe, expect, it } from 'vitest';
import { Batcher } from './batcher.ts';

describe('Batcher', () => {
  it('answers the items added in one turn with one call, each by its key', async () => {
    const calls: number[][] = [];
    const batcher = new Batcher<number, number, string>(
      async (items) => {
        calls.push(items);
        return new Map(items.filter((item) => item !== 3).map((item) => [item, `r${item}`]));
      },
      (item) => item,
    );
    const results = await Promise.all([1, 2, 3, 4].map((item) => batcher.add(item)));
    expect(results).toEqual(['r1', 'r2', undefined, 'r4']);
    expect(calls).toEqual([[1, 2, 3, 4]]);
  });

  it('gathers items arriving while batches are in flight into the next batch, within maxBatch', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const batcher = new Batcher<number, number, number>(
      async (items) => {
        calls.push(items);
        if (calls.length === 1) await gate;
        return new Map(items.map((item) => [item, item]));
      },
      (item) => item,
      { maxInFlight: 1, maxBatch: 3 },
    );
    const first = batcher.add(0);
    await new Promise((resolve) => setImmediate(resolve));
    const later = [1, 2, 3, 4, 5].map((item) => batcher.add(item));
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toEqual([[0]]);
    release();
    expect(await Promise.all([first, ...later])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(calls).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('never puts two items of one key in the same batch', async () => {
    const calls: string[][] = [];
    const batcher = new Batcher<string, string, string>(
      async (items) => {
        calls.push(items);
        return new Map(items.map((item) => [item, `${item}#${calls.length}`]));
      },
      (item) => item,
    );
    expect(await Promise.all([batcher.add('a'), batcher.add('a'), batcher.add('b')])).toEqual(['a#1', 'a#2', 'b#1']);
  });

  it('when a batch fails, tries each item alone: only the bad item fails', async () => {
    const batcher = new Batcher<number, number, number>(
      async (items) => {
        if (items.includes(13)) throw new Error('13 is refused');
        return new Map(items.map((item) => [item, item * 2]));
      },
      (item) => item,
    );
    const results = await Promise.allSettled([1, 13, 2].map((item) => batcher.add(item)));
    expect(results).toEqual([
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('13 is refused') },
      { status: 'fulfilled', value: 4 },
    ]);
  });
});
