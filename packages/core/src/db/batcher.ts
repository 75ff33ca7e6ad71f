export interface BatcherOptions {
  /** Most items in one call of `run`. */
  maxBatch?: number;
  /** Most calls of `run` in flight; items arriving meanwhile wait and go together in the next one. */
  maxInFlight?: number;
  /**
   * How long an item may wait for others to join its batch (default 0: it goes at the end of
   * its event-loop turn, as soon as a call slot is free). For writes nobody waits on, a longer
   * batch is a cheaper one.
   */
  lingerMs?: number;
}

interface Pending<I, R> {
  item: I;
  resolve(result: R | undefined): void;
  reject(error: unknown): void;
}

/**
 * Turns many concurrent single calls into few batched ones: items go at the end of the
 * event-loop turn in which they arrived (every request or answer read in that turn joins
 * them) when a call slot is free, else with everything that queued up behind the calls in
 * flight. `run` answers each item by its key: many runs' statements become one statement,
 * one round trip and one commit.
 *
 * When a batch of several items fails, each item is tried again on its own, so one bad
 * item fails alone and never takes the others with it.
 */
export class Batcher<K, I, R> {
  readonly #run: (items: I[]) => Promise<Map<K, R>>;
  readonly #keyOf: (item: I) => K;
  readonly #maxBatch: number;
  readonly #maxInFlight: number;
  readonly #lingerMs: number;
  #queue: Pending<I, R>[] = [];
  #inFlight = 0;
  /** The flush waiting for the end of the turn (lingerMs 0) or for the linger to pass. */
  #endOfTurn: NodeJS.Immediate | undefined;
  #lingering: NodeJS.Timeout | undefined;
  readonly #scheduledFlush = () => {
    this.#endOfTurn = undefined;
    this.#lingering = undefined;
    this.#flush();
  };
  readonly #calls = new Set<Promise<void>>();

  constructor(run: (items: I[]) => Promise<Map<K, R>>, keyOf: (item: I) => K, options: BatcherOptions = {}) {
    this.#run = run;
    this.#keyOf = keyOf;
    this.#maxBatch = options.maxBatch ?? 200;
    this.#maxInFlight = options.maxInFlight ?? 2;
    this.#lingerMs = options.lingerMs ?? 0;
  }

  /** Resolves with the item's result, or undefined when `run` had none for its key. */
  add(item: I): Promise<R | undefined> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#queue.length >= this.#maxBatch) this.#flush();
      else if (this.#lingerMs === 0) this.#endOfTurn ??= setImmediate(this.#scheduledFlush);
      else this.#lingering ??= setTimeout(this.#scheduledFlush, this.#lingerMs);
    });
  }

  /** Sends what is waiting now and resolves once every call has returned (before closing what `run` uses). */
  async drain(): Promise<void> {
    clearImmediate(this.#endOfTurn);
    clearTimeout(this.#lingering);
    this.#scheduledFlush();
    while (this.#calls.size > 0) await Promise.all(this.#calls);
  }

  #flush(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queue.length > 0) {
      const batch = this.#take();
      this.#inFlight += 1;
      const call: Promise<void> = this.#settle(batch).finally(() => {
        this.#inFlight -= 1;
        this.#calls.delete(call);
        this.#flush();
      });
      this.#calls.add(call);
    }
  }

  /** Up to maxBatch items, one per key (a second item of the same key waits for the next batch). */
  #take(): Pending<I, R>[] {
    const batch: Pending<I, R>[] = [];
    const keys = new Set<K>();
    const rest: Pending<I, R>[] = [];
    for (const pending of this.#queue) {
      const key = this.#keyOf(pending.item);
      if (batch.length < this.#maxBatch && !keys.has(key)) {
        keys.add(key);
        batch.push(pending);
      } else {
        rest.push(pending);
      }
    }
    this.#queue = rest;
    return batch;
  }

  async #settle(batch: Pending<I, R>[]): Promise<void> {
    try {
      const results = await this.#run(batch.map((pending) => pending.item));
      for (const pending of batch) pending.resolve(results.get(this.#keyOf(pending.item)));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      await Promise.all(batch.map((pending) => this.#settle([pending])));
    }
  }
}
