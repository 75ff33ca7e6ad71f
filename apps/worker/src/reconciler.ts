import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Database, Prisma } from '@conveyor/core/db/client';
import type { Logger } from '@conveyor/core/logger';
import type { RunJobData } from '@conveyor/core/queue/names';
import { enqueueRun } from '@conveyor/core/queue/runs-queue';

export interface ReconcilerDeps {
  db: Database;
  redis: Redis;
  runsQueue: Queue<RunJobData>;
  logger: Logger;
  prefix: string;
  /** Extra work done in the same pass under the same lock (e.g. the webhook reconciler). */
  alsoReconcile?: () => Promise<unknown>;
}

export interface ReconcilerOptions {
  intervalMs: number;
  /** Runs younger than this are left alone: the API may be enqueueing them right now. */
  graceMs?: number;
  /** At most this many runs per pass. */
  batchSize?: number;
  /** Narrows the runs considered (tests that share a database with other test files). */
  scope?: Prisma.RunWhereInput;
}

/**
 * Postgres is the source of truth: a run it calls `queued` or `running` must have a
 * job in the runs queue. If Redis lost its data, or the API died between storing a
 * run and enqueueing it, this re-adds the missing jobs (job id = run id, so adding
 * a job that exists is a no-op). It runs at start and then periodically; a short
 * Redis lock lets one worker of many do each pass.
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
    const pass = this.#reenqueueLost();
    this.#pass = pass.then(
      () => undefined,
      () => undefined,
    );
    const count = await pass;
    await this.deps.alsoReconcile?.().catch((error: unknown) => this.deps.logger.warn({ err: error }, 'webhook reconciliation failed'));
    return count;
  }

  async #reenqueueLost(): Promise<number> {
    const before = new Date(Date.now() - (this.options.graceMs ?? 10_000));
    const batchSize = this.options.batchSize ?? 1000;
    let cursor: string | undefined;
    let reenqueued = 0;
    for (;;) {
      const runs = await this.deps.db.run.findMany({
        where: {
          ...this.options.scope,
          status: { in: ['queued', 'running'] },
          updatedAt: { lt: before },
          ...(cursor ? { id: { gt: cursor } } : {}),
        },
        select: { id: true, requestId: true },
        orderBy: { id: 'asc' },
        take: batchSize,
      });
      for (const run of runs) {
        if (await this.#hasLiveJob(run.id)) continue;
        await enqueueRun(this.deps.runsQueue, { runId: run.id, ...(run.requestId ? { requestId: run.requestId } : {}) });
        reenqueued++;
      }
      if (runs.length < batchSize || this.#stopped) break;
      cursor = runs[runs.length - 1]!.id;
    }
    if (reenqueued > 0) this.deps.logger.warn({ reenqueued }, 'reconciler re-enqueued runs that had no job');
    return reenqueued;
  }

  /**
   * A job in a finished state for a run Postgres still calls active is as good as lost:
   * it is removed so the run can be enqueued again.
   */
  async #hasLiveJob(runId: string): Promise<boolean> {
    const state = await this.deps.runsQueue.getJobState(runId);
    if (state === 'unknown') return false;
    if (state === 'completed' || state === 'failed') {
      await this.deps.runsQueue.remove(runId).catch(() => undefined);
      return false;
    }
    return true;
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
