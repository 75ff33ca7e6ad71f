/** Collects cleanups (stop a process, close a connection, delete keys) and runs them newest first. */
export class Scope {
  #cleanups: Array<{ label: string; run: () => unknown }> = [];

  defer(label: string, run: () => unknown): void {
    this.#cleanups.push({ label, run });
  }

  /** Runs every cleanup even when some fail; returns the failures as messages. */
  async close(): Promise<string[]> {
    const failures: string[] = [];
    while (this.#cleanups.length > 0) {
      const { label, run } = this.#cleanups.pop()!;
      try {
        await run();
      } catch (error) {
        failures.push(`${label}: ${(error as Error).message}`);
      }
    }
    return failures;
  }
}
