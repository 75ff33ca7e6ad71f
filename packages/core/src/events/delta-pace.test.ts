import { describe, expect, it } from 'vitest';
import { DeltaPace } from './delta-pace.ts';

describe('delta pace', () => {
  const at = (second: number, ms = 0) => second * 1000 + ms;

  /** `runs` runs each receiving one fragment in second `second`; returns their last seconds. */
  function stream(pace: DeltaPace, runs: number[], second: number): number[] {
    return runs.map((last, i) => pace.fragment(last, at(second, i % 1000)));
  }

  it('keeps the base interval and bursts while few runs stream', () => {
    const pace = new DeltaPace(30, 2000);
    let runs = Array.from({ length: 50 }, () => 0);
    runs = stream(pace, runs, 100);
    runs = stream(pace, runs, 101);
    expect(pace.intervalMs()).toBe(30);
    expect(pace.paced()).toBe(false);
  });

  it('lengthens every run interval so that many streaming runs stay near the write budget together', () => {
    const pace = new DeltaPace(30, 2000);
    let runs = Array.from({ length: 500 }, () => 0);
    runs = stream(pace, runs, 100);
    // 500 runs streaming: each may write every 250 ms, 2,000 writes a second in all.
    expect(pace.intervalMs()).toBe(250);
    expect(pace.paced()).toBe(true);
    // Many fragments of the same runs in the same second count each run once.
    for (let i = 0; i < 5; i++) runs = stream(pace, runs, 100);
    expect(pace.intervalMs()).toBe(250);
    // The next second still remembers them until they have streamed in it.
    runs = stream(pace, runs.slice(0, 100), 101);
    expect(pace.intervalMs()).toBe(250);
  });

  it('goes back to the base interval once the runs have stopped streaming', () => {
    const pace = new DeltaPace(30, 2000);
    stream(pace, Array.from({ length: 500 }, () => 0), 100);
    expect(pace.paced()).toBe(true);
    // A second with one run streaming after a quiet one: only it counts.
    stream(pace, [0], 103);
    expect(pace.intervalMs()).toBe(30);
  });
});
