import { afterEach, describe, expect, it, vi } from 'vitest';
import { Batcher, type BatcherOptions } from './batcher.ts';

/** A batcher that answers each item with itself and keeps every batch it was called with in `calls`. */
function recording(calls: number[][], options: BatcherOptions): Batcher<number, number, number> {
  return new Batcher<number, number, number>(
    async (items) => {
      calls.push(items);
      return new Map(items.map((item) => [item, item]));
    },
    (item) => item,
    options,
  );
}

describe('Batcher', () => {
  it('sends the items of one event-loop turn together and answers each item of a batch by its key', async () => {
    const calls: number[][] = [];
    const batcher = new Batcher<number, number, string>(
      async (items) => {
        calls.push(items);
        return new Map(items.filter((item) => item !== 3).map((item) => [item, `r${item}`]));
      },
      (item) => item,
      { maxInFlight: 1 },
    );
    const results = await Promise.all([1, 2, 3, 4].map((item) => batcher.add(item)));
    expect(results).toEqual(['r1', 'r2', undefined, 'r4']);
    expect(calls).toEqual([[1, 2, 3, 4]]);
  });

  it('gathers items added by separate callbacks of one turn (requests read together) into one batch, and a lone item goes in its own turn', async () => {
    const calls: number[][] = [];
    const batcher = recording(calls, { maxInFlight: 2 });
    const added: Promise<number | undefined>[] = [];
    // Immediates queued together run in one turn, with microtasks drained between them, as I/O callbacks
    // do; the batcher's own end-of-turn immediate, queued from the first, runs in the next turn.
    // (Timers of 0 ms are not due together when the clock ticks between their creation.)
    await new Promise<void>((resolve) => {
      for (const item of [1, 2, 3]) setImmediate(() => added.push(batcher.add(item)));
      setImmediate(resolve);
    });
    expect(await Promise.all(added)).toEqual([1, 2, 3]);
    expect(await batcher.add(4)).toBe(4);
    expect(calls).toEqual([[1, 2, 3], [4]]);
  });

  it('gathers items arriving while batches are in flight into the next batch, within maxBatch', async () => {
    const calls: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let started!: () => void;
    const firstStarted = new Promise<void>((resolve) => (started = resolve));
    const batcher = new Batcher<number, number, number>(
      async (items) => {
        calls.push(items);
        if (calls.length === 1) {
          started();
          await gate;
        }
        return new Map(items.map((item) => [item, item]));
      },
      (item) => item,
      { maxInFlight: 1, maxBatch: 3 },
    );
    const first = batcher.add(0);
    await firstStarted;
    const later = [1, 2, 3, 4, 5].map((item) => batcher.add(item));
    expect(calls).toEqual([[0]]);
    release();
    expect(await Promise.all([first, ...later])).toEqual([0, 1, 2, 3, 4, 5]);
    expect(calls).toEqual([[0], [1, 2, 3], [4, 5]]);
  });

  it('sends a full batch at once, without waiting for the end of the turn', () => {
    const calls: number[][] = [];
    const batcher = recording(calls, { maxInFlight: 1, maxBatch: 2 });
    void batcher.add(1);
    expect(calls).toEqual([]);
    void batcher.add(2);
    expect(calls).toEqual([[1, 2]]);
  });

  it('never puts two items of one key in the same batch', async () => {
    const calls: string[][] = [];
    const batcher = new Batcher<string, string, string>(
      async (items) => {
        calls.push(items);
        return new Map(items.map((item) => [item, `${item}#${calls.length}`]));
      },
      (item) => item,
      { maxInFlight: 1 },
    );
    expect(await Promise.all([batcher.add('x'), batcher.add('a'), batcher.add('a'), batcher.add('b')])).toEqual(['x#1', 'a#1', 'a#2', 'b#1']);
    expect(calls).toEqual([['x', 'a', 'b'], ['a']]);
  });

  it('when a batch fails, tries each item alone: only the bad item fails, later items are served', async () => {
    const batcher = new Batcher<number, number, number>(
      async (items) => {
        if (items.includes(13)) throw new Error('13 is refused');
        return new Map(items.map((item) => [item, item * 2]));
      },
      (item) => item,
      { maxInFlight: 1 },
    );
    const results = await Promise.allSettled([0, 1, 13, 2].map((item) => batcher.add(item)));
    expect(await batcher.add(5)).toBe(10);
    expect(results).toEqual([
      { status: 'fulfilled', value: 0 },
      { status: 'fulfilled', value: 2 },
      { status: 'rejected', reason: new Error('13 is refused') },
      { status: 'fulfilled', value: 4 },
    ]);
  });

  describe('with lingerMs', () => {
    afterEach(() => {
      vi.useRealTimers();
    });
    const lingering = { maxInFlight: 1, maxBatch: 3, lingerMs: 50 };

    it('holds items for the linger so that later ones join them, and sends a full batch at once', async () => {
      vi.useFakeTimers();
      const calls: number[][] = [];
      const batcher = recording(calls, lingering);
      const first = batcher.add(1);
      await vi.advanceTimersByTimeAsync(30);
      const second = batcher.add(2);
      expect(calls).toEqual([]);
      await vi.advanceTimersByTimeAsync(20);
      expect(await Promise.all([first, second])).toEqual([1, 2]);
      expect(calls).toEqual([[1, 2]]);

      const full = [batcher.add(3), batcher.add(4), batcher.add(5)];
      expect(await Promise.all(full)).toEqual([3, 4, 5]);
      expect(calls).toEqual([[1, 2], [3, 4, 5]]);
    });

    it('drain sends what lingers at once and returns when every call has returned', async () => {
      vi.useFakeTimers();
      const calls: number[][] = [];
      const batcher = recording(calls, lingering);
      const pending = batcher.add(7);
      await batcher.drain();
      expect(calls).toEqual([[7]]);
      expect(await pending).toBe(7);
    });
  });
});

