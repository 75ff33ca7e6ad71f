export interface MicroBatcherOptions {
  /** Most items handed to one call. */
  maxBatch: number;
  /** Most calls running at once; items that arrive meanwhile wait for the next call. */
  maxInFlight: number;
}

interface Pending<T, R> {
  item: T;
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/**
 * Turns many concurrent single calls into few batched ones. An item never waits for a timer:
 * it goes at once if a call slot is free, else with everything that queued up behind it.
 * `run` returns one result per item, in order; if it throws, every item of that batch rejects.
 */
export class MicroBatcher<T, R> {
  #waiting: Pending<T, R>[] = [];
  #inFlight = 0;

  constructor(
    private readonly run: (items: T[]) => Promise<R[]>,
    private readonly options: MicroBatcherOptions,
  ) {}

  submit(item: T): Promise<R> {
    return new Promise((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject });
      this.#flush();
    });
  }

  #flush(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.options.maxInFlight) {
      const batch = this.#waiting.splice(0, this.options.maxBatch);
      this.#inFlight++;
      void this.#call(batch).finally(() => {
        this.#inFlight--;
        this.#flush();
      });
    }
  }

  async #call(batch: Pending<T, R>[]): Promise<void> {
    try {
      const results = await this.run(batch.map((p) => p.item));
      batch.forEach((pending, i) => pending.resolve(results[i]!));
    } catch (error) {
      for (const pending of batch) pending.reject(error);
    }
  }
}
