import type { ServerResponse } from 'node:http';

/**
 * The times a streamed answer's chunks are due: chunk i at start + i / tokensPerSecond. A chunk
 * waits for its own time, not for a gap after the chunk before, so timers that fire late (a busy
 * emulator) do not slow the stream down: the chunks that fell due meanwhile go out at once.
 */
export class ChunkSchedule {
  readonly #gapMs: number;
  readonly #now: () => number;
  readonly #start: number;
  #next = 0;

  constructor(tokensPerSecond: number, now: () => number = () => performance.now()) {
    this.#gapMs = tokensPerSecond > 0 ? 1000 / tokensPerSecond : 0;
    this.#now = now;
    this.#start = now();
  }

  /** Milliseconds to wait before the next chunk (0 when it is due), and counts it as sent. */
  take(): number {
    const due = this.#start + this.#next++ * this.#gapMs;
    return Math.max(0, due - this.#now());
  }
}

/**
 * Paces one streamed response: waits for each chunk's time, and holds the chunks that are
 * already due (corked) so that they leave in one socket write at the end of the tick, as a
 * network delivers what was sent while the reader was away.
 */
export class StreamPace {
  readonly #schedule: ChunkSchedule;
  #corked = false;

  constructor(
    private readonly res: ServerResponse,
    tokensPerSecond: number,
  ) {
    this.#schedule = new ChunkSchedule(tokensPerSecond);
  }

  /** Resolves when the next chunk may be written: false when the client has gone. */
  async next(): Promise<boolean> {
    const waitMs = this.#schedule.take();
    // Whole milliseconds: Node keeps one timer list per distinct duration.
    if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, Math.ceil(waitMs)));
    this.#cork();
    return !this.res.destroyed;
  }

  /** Sends the chunks held so far now: before the response ends or is cut. */
  readonly flush = (): void => {
    if (!this.#corked) return;
    this.#corked = false;
    this.res.uncork();
  };

  #cork(): void {
    if (this.#corked || this.res.destroyed) return;
    this.#corked = true;
    this.res.cork();
    process.nextTick(this.flush);
  }
}
