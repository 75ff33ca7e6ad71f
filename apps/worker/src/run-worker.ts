import { UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '@conveyor/core/config';
import type { Database } from '@conveyor/core/db/client';
import { eventStreamSettings, RunEventPublisher } from '@conveyor/core/events/publish';
import type { Logger } from '@conveyor/core/logger';
import { RunInterruptedError, type AbortReason, type RunError } from '@conveyor/core/pipeline/errors';
import { executeRun, type ExecutionDeps, type RunEnd, type RunOutcome } from '@conveyor/core/pipeline/execute';
import { RunStore } from '@conveyor/core/pipeline/run-store';
import { sqlPool } from '@conveyor/core/db/client';
import { endRun } from '@conveyor/core/pipeline/run-state';
import { queuePrefix, RUNS_QUEUE, type RunJobData } from '@conveyor/core/queue/names';
import { runWorkerSettings } from '@conveyor/core/queue/runs-queue';
import { CancelListener } from './cancel-listener.ts';

export interface RunWorkerDeps extends Omit<ExecutionDeps, 'logger' | 'maxDurationSeconds' | 'now' | 'store'> {
  config: Config;
  db: Database;
  /** A connection for commands; the worker duplicates it for its blocking and subscriber connections. */
  redis: Redis;
  logger: Logger;
  /**
   * Called once a run has ended (any terminal status), e.g. to enqueue its webhook. Must be idempotent.
   * `end` is what this process knows of the run's end; when absent, read the run back.
   */
  onRunEnded?: (runId: string, end?: RunEnd) => Promise<unknown>;
}

export interface RunWorkerOptions {
  concurrency?: number;
}

/**
 * Executes runs from the runs queue. Cancel requests abort the step in flight;
 * `close()` stops taking runs, lets those in flight finish within a grace period,
 * and hands the rest back to the queue for another worker.
 */
export class RunWorker {
  readonly #deps: RunWorkerDeps;
  readonly #logger: Logger;
  readonly #active = new Map<string, AbortController>();
  readonly #publisher: RunEventPublisher;
  /** Events of all runs in flight are many small writes: auto-pipelining sends those of one tick together. */
  readonly #eventsConnection: Redis;
  readonly #cancels: CancelListener;
  readonly #worker: Worker<RunJobData, RunOutcome['status']>;
  readonly #store: RunStore;
  #closing = false;

  constructor(deps: RunWorkerDeps, options: RunWorkerOptions = {}) {
    this.#deps = deps;
    this.#logger = deps.logger.child({ component: 'run-worker' });
    this.#store = new RunStore(sqlPool(deps.db));
    this.#eventsConnection = deps.redis.duplicate({ enableAutoPipelining: true });
    this.#publisher = new RunEventPublisher(this.#eventsConnection, deps.config.REDIS_PREFIX, deps.logger, eventStreamSettings(deps.config));
    this.#cancels = new CancelListener(
      deps.redis,
      deps.config.REDIS_PREFIX,
      (runId) => this.#abort(runId, 'canceled'),
      this.#logger,
      () => void this.#recheckCancels(),
    );
    this.#worker = new Worker<RunJobData, RunOutcome['status']>(RUNS_QUEUE, (job) => this.#process(job), {
      connection: deps.redis.duplicate(),
      prefix: queuePrefix(deps.config.REDIS_PREFIX),
      concurrency: options.concurrency ?? deps.config.WORKER_CONCURRENCY,
      autorun: false,
      ...runWorkerSettings,
    });
    this.#worker.on('error', (error) => this.#logger.error({ err: error }, 'run worker error'));
    this.#worker.on('lockRenewalFailed', (jobIds) => {
      for (const runId of jobIds) this.#abort(runId, 'lost');
    });
    this.#worker.on('failed', (job, error) => void this.#onJobFailed(job, error));
  }

  async start(): Promise<void> {
    await this.#cancels.start();
    void this.#worker.run();
    await this.#worker.waitUntilReady();
  }

  get activeRuns(): number {
    return this.#active.size;
  }

  /**
   * Stops taking new runs and waits up to `graceMs` for the runs in flight. Runs still
   * going after that are aborted and put back in the queue (no attempt is used up);
   * another worker resumes them at their first unfinished step.
   */
  async close(graceMs = this.#deps.config.WORKER_SHUTDOWN_GRACE_SECONDS * 1000): Promise<void> {
    this.#closing = true;
    const drained = this.#worker.close();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<'grace-over'>((resolve) => (timer = setTimeout(() => resolve('grace-over'), graceMs)));
    const result = await Promise.race([drained.then(() => 'drained' as const), graceOver]);
    clearTimeout(timer);
    if (result === 'grace-over') {
      this.#logger.warn({ runs: [...this.#active.keys()] }, 'grace period over: handing runs in flight back to the queue');
      for (const runId of this.#active.keys()) this.#abort(runId, 'shutdown');
      await drained;
    }
    await this.#cancels.close();
    await this.#eventsConnection.quit().catch(() => this.#eventsConnection.disconnect());
  }

  async #process(job: Job<RunJobData>): Promise<RunOutcome['status']> {
    if (this.#closing && job.token) {
      // BullMQ can still hand out a job it was waiting for when close() began.
      await job.moveToWait(job.token);
      throw new WaitingError();
    }
    const { runId, requestId } = job.data;
    const logger = this.#logger.child({ runId, attempt: job.attemptsMade + 1, ...(requestId ? { requestId } : {}) });
    const controller = new AbortController();
    this.#active.set(runId, controller);
    const events = this.#publisher.forRun(runId);
    try {
      const outcome = await executeRun(
        { ...this.#deps, store: this.#store, logger, maxDurationSeconds: this.#deps.config.RUN_MAX_DURATION_SECONDS },
        runId,
        events,
        controller.signal,
      );
      if (outcome.status !== 'skipped') {
        logger.info({ status: outcome.status, ...(outcome.status === 'failed' ? { error: outcome.error } : {}) }, 'run ended');
        await this.#runEnded(runId, logger, outcome.end);
      }
      if (outcome.status === 'failed') throw new UnrecoverableError(`${outcome.error.code}: ${outcome.error.message}`);
      return outcome.status;
    } catch (error) {
      if (error instanceof UnrecoverableError) throw error;
      if (error instanceof RunInterruptedError) {
        if (error.reason === 'shutdown' && job.token) {
          await job.moveToWait(job.token);
          throw new WaitingError();
        }
        throw error;
      }
      if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) {
        logger.warn({ err: error }, 'run attempt failed; it will be retried');
        throw error;
      }
      logger.error({ err: error }, 'run failed unexpectedly on its last attempt');
      await this.#failRun(runId, { code: 'internal_error', message: 'the run failed unexpectedly' }, logger);
      throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
    } finally {
      this.#active.delete(runId);
      await events.settled();
    }
  }

  /**
   * A job that BullMQ gave up on without our processor deciding it (stalled too often:
   * its workers kept dying) must not leave its run `running` forever.
   */
  async #onJobFailed(job: Job<RunJobData> | undefined, error: Error): Promise<void> {
    if (!job || error instanceof UnrecoverableError || error.name === 'UnrecoverableError') return;
    const final = job.attemptsMade >= (job.opts.attempts ?? 1) || /stalled/i.test(error.message);
    if (!final) return;
    const logger = this.#logger.child({ runId: job.data.runId });
    await this.#failRun(job.data.runId, { code: 'internal_error', message: `the run could not be completed: ${error.message}` }, logger);
  }

  async #failRun(runId: string, error: RunError, logger: Logger): Promise<void> {
    try {
      if (await endRun(this.#deps.db, runId, { status: 'failed', error }, new Date())) {
        await this.#publisher.forRun(runId).emit('run.failed', { runId, error });
        await this.#runEnded(runId, logger);
      }
    } catch (failure) {
      logger.error({ err: failure }, 'could not mark the run failed; the reconciler will retry it');
    }
  }

  async #runEnded(runId: string, logger: Logger, end?: RunEnd): Promise<void> {
    try {
      await this.#deps.onRunEnded?.(runId, end);
    } catch (error) {
      logger.warn({ err: error }, 'run-end hook failed; the webhook reconciler catches up');
    }
  }

  #abort(runId: string, reason: AbortReason): void {
    const controller = this.#active.get(runId);
    if (controller && !controller.signal.aborted) {
      this.#logger.info({ runId, reason }, 'aborting run execution');
      controller.abort(reason);
    }
  }

  /** Cancel messages published while the subscriber was disconnected were lost: ask Postgres. */
  async #recheckCancels(): Promise<void> {
    const runIds = [...this.#active.keys()];
    if (runIds.length === 0) return;
    const canceled = await this.#deps.db.run.findMany({ where: { id: { in: runIds }, cancelRequested: true }, select: { id: true } });
    for (const { id } of canceled) this.#abort(id, 'canceled');
  }
}
