/**
 * How often each run of a process may write a delta, given how many runs of the process are
 * streaming. A worker holding hundreds of streaming runs would otherwise write nearly every
 * fragment as its own entry (a model streams one every 25 ms or so), and those writes, not the
 * runs, would take its event loop. Past `maxDeltaWritesPerSecond` in all, each run's interval
 * lengthens so that together they stay near it: fewer, larger deltas, a little later.
 */
export class DeltaPace {
  #second = 0;
  #streamingThisSecond = 0;
  #streamingLastSecond = 0;

  constructor(
    private readonly baseIntervalMs: number,
    private readonly maxDeltaWritesPerSecond: number,
  ) {}

  /** A run received a fragment; `lastSecond` is the second of its previous one (0: none yet). Returns the current second. */
  fragment(lastSecond: number, nowMs: number): number {
    const second = Math.floor(nowMs / 1000);
    if (second !== this.#second) {
      this.#streamingLastSecond = second === this.#second + 1 ? this.#streamingThisSecond : 0;
      this.#streamingThisSecond = 0;
      this.#second = second;
    }
    if (lastSecond !== second) this.#streamingThisSecond++;
    return second;
  }

  /** The interval each streaming run keeps between delta writes now. */
  intervalMs(): number {
    const streaming = Math.max(this.#streamingLastSecond, this.#streamingThisSecond);
    return Math.max(this.baseIntervalMs, (streaming * 1000) / this.maxDeltaWritesPerSecond);
  }

  /** Whether runs are paced beyond the base interval (then each writes one delta per interval, no bursts). */
  paced(): boolean {
    return this.intervalMs() > this.baseIntervalMs;
  }
}
