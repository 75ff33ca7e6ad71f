import { DelayedError, UnrecoverableError, WaitingError, Worker, type Job } from 'bullmq';
import {
  type AbortReason,
  type Config,
  duplicateRedis,
  isInfrastructureError,
  type Logger,
  queuePrefix,
  type RunEngine,
  RunInterruptedError,
  RUNS_QUEUE,
  type RunJobData,
  type RedisConnection,
  type ExecutionOutcome,
  runWorkerSettings,
  traceRun,
} from '@conveyor/core';
import { CancelListener } from './cancel-listener.ts';

export interface RunWorkerDeps {
  config: Config;
  engine: RunEngine;
  /** A connection for commands; the worker duplicates it for its blocking and subscriber connections. */
  redis: RedisConnection;
  logger: Logger;
}

export interface RunWorkerOptions {
  concurrency?: number;
}

/** Job data a run's job carries across delays for an unavailable database. */
interface RunJob extends RunJobData {
  /** How many times in a row the run was put off because Postgres was unavailable. */
  infrastructureDelays?: number;
}

/** Backoff for a run put off while Postgres is unavailable: 1 s doubling up to a minute. */
export const infrastructureDelayMs = (delays: number) => Math.min(60_000, 1000 * 2 ** delays);

/**
 * The BullMQ side of executing runs: takes jobs from the runs queue and hands each to the run
 * engine. Cancel requests abort the step in flight; `close()` stops taking runs, lets those in
 * flight finish within a grace period, and hands the rest back to the queue for another worker.
 */
export class RunWorker {
  readonly #deps: RunWorkerDeps;
  readonly #logger: Logger;
  readonly #active = new Map<string, AbortController>();
  readonly #cancels: CancelListener;
  readonly #worker: Worker<RunJob, ExecutionOutcome['status'] | 'approved' | 'rejected'>;
  #closing: Promise<void> | undefined;

  constructor(deps: RunWorkerDeps, options: RunWorkerOptions = {}) {
    this.#deps = deps;
    this.#logger = deps.logger.child({ component: 'run-worker' });
    this.#cancels = new CancelListener(
      deps.redis,
      deps.config.REDIS_PREFIX,
      (runId) => this.#abort(runId, 'canceled'),
      this.#logger,
      () => this.#recheckCancels(),
    );
    this.#worker = new Worker<RunJob, ExecutionOutcome['status'] | 'approved' | 'rejected'>(RUNS_QUEUE, (job) => this.#process(job), {
      connection: duplicateRedis(deps.redis),
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
   * another worker resumes them at their first unfinished step. Safe to call more than once.
   */
  close(graceMs = this.#deps.config.WORKER_SHUTDOWN_GRACE_SECONDS * 1000): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
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
  }

  #process(job: Job<RunJob>): Promise<ExecutionOutcome['status'] | 'approved' | 'rejected'> {
    return traceRun(job.data, job.attemptsMade + 1, () => this.#processJob(job));
  }

  async #processJob(job: Job<RunJob>): Promise<ExecutionOutcome['status'] | 'approved' | 'rejected'> {
    if (this.#closing && job.token) {
      // BullMQ can still hand out a job it was waiting for when close() began.
      await job.moveToWait(job.token);
      throw new WaitingError();
    }
    const { runId, requestId } = job.data;
    if (job.data.approvalTimeout !== undefined) {
      const decided = await this.#deps.engine.expireApproval(runId, job.data.approvalTimeout);
      if (decided !== 'skipped') this.#logger.info({ runId, step: job.data.approvalTimeout, decided }, 'approval step timed out');
      return decided;
    }
    const logger = this.#logger.child({ runId, attempt: job.attemptsMade + 1, ...(requestId ? { requestId } : {}) });
    const controller = new AbortController();
    this.#active.set(runId, controller);
    try {
      const outcome = await this.#deps.engine.execute(runId, controller.signal, { logger });
      if (outcome.status === 'waiting') logger.info({ step: outcome.index }, 'run waits for an approval');
      else if (outcome.status !== 'skipped') {
        logger.info({ status: outcome.status, ...(outcome.status === 'failed' ? { error: outcome.error } : {}) }, 'run ended');
      }
      if (job.data.infrastructureDelays) await job.updateData({ ...job.data, infrastructureDelays: 0 });
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
      if (isInfrastructureError(error) && job.token && !controller.signal.aborted) {
        // Postgres is away: the run waits it out without using up one of its attempts.
        const delays = job.data.infrastructureDelays ?? 0;
        logger.warn({ err: error, retryInMs: infrastructureDelayMs(delays) }, 'Postgres unavailable: the run is put off');
        await job.updateData({ ...job.data, infrastructureDelays: delays + 1 });
        await job.moveToDelayed(Date.now() + infrastructureDelayMs(delays), job.token);
        throw new DelayedError();
      }
      if (job.attemptsMade + 1 < (job.opts.attempts ?? 1)) {
        logger.warn({ err: error }, 'run attempt failed; it will be retried');
        throw error;
      }
      logger.error({ err: error }, 'run failed unexpectedly on its last attempt');
      await this.#failRun(runId, 'the run failed unexpectedly', logger);
      throw new UnrecoverableError(error instanceof Error ? error.message : String(error));
    } finally {
      this.#active.delete(runId);
    }
  }

  /**
   * A job that BullMQ failed without our processor deciding it (it stalled too often: its
   * workers kept dying, so BullMQ set a deferred failure) must not leave its run `running` forever.
   */
  async #onJobFailed(job: Job<RunJob> | undefined, error: Error): Promise<void> {
    if (!job) return;
    const givenUpByBullmq = Boolean(job.deferredFailure);
    const attemptsExhausted = !(error instanceof UnrecoverableError) && job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!givenUpByBullmq && !attemptsExhausted) return;
    await this.#failRun(job.data.runId, `the run could not be completed: ${error.message}`, this.#logger.child({ runId: job.data.runId }));
  }

  async #failRun(runId: string, message: string, logger: Logger): Promise<void> {
    try {
      await this.#deps.engine.fail(runId, { code: 'internal_error', message });
    } catch (failure) {
      logger.error({ err: failure }, 'could not mark the run failed; the reconciler will retry it');
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
    try {
      for (const runId of await this.#deps.engine.cancelRequested([...this.#active.keys()])) this.#abort(runId, 'canceled');
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not re-check cancel requests after a reconnect');
    }
  }
}

