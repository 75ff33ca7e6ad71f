import type { RedisConnection } from '@conveyor/core';
import type { Logger, RunEngine, Schedules } from '@conveyor/core';

export interface ReconcilerDeps {
  engine: RunEngine;
  /** Schedules whose job schedulers Redis lost are made again (and stray ones removed). */
  schedules?: Schedules;
  redis: RedisConnection;
  logger: Logger;
  prefix: string;
}

export interface ReconcilerOptions {
  intervalMs: number;
  /** Runs younger than this are left alone: the API may be enqueueing them right now. */
  graceMs?: number;
}

/**
 * Runs the engine's reconciliation (lost jobs, unsettled run ends, lost webhooks, lost schedules) at start
 * and then periodically. A short Redis lock lets one worker of many do each pass.
 */
export class Reconciler {
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<void> | undefined;
  #stopped = false;

  constructor(
    private readonly deps: ReconcilerDeps,
    private readonly options: ReconcilerOptions,
  ) {}

  async start(): Promise<void> {
    await this.reconcileOnce();
    this.#schedule();
  }

  /** Safe to call more than once. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#pass;
  }

  /** One pass (if no other worker holds the lock). Returns how many runs were re-enqueued. */
  async reconcileOnce(): Promise<number> {
    const lockKey = `${this.deps.prefix}:reconciler-lock`;
    const locked = await this.deps.redis.set(lockKey, String(process.pid), 'PX', Math.max(1000, this.options.intervalMs - 500), 'NX');
    if (locked !== 'OK') return 0;
    const pass = this.deps.engine
      .reconcile({ ...(this.options.graceMs !== undefined ? { graceMs: this.options.graceMs } : {}), shouldStop: () => this.#stopped })
      .then(async (result) => {
        await this.deps.schedules?.reconcile();
        return result;
      });
    this.#pass = pass.then(
      () => undefined,
      () => undefined,
    );
    return (await pass).runs;
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(async () => {
      try {
        await this.reconcileOnce();
      } catch (error) {
        this.deps.logger.warn({ err: error }, 'reconciliation pass failed');
      }
      this.#schedule();
    }, this.options.intervalMs);
    this.#timer.unref();
  }
}
