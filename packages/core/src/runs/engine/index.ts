import { DeploymentCounters } from '../../metrics/cluster-counters.ts';
import type { Queue } from 'bullmq';
import { duplicateRedis, type RedisConnection } from '../../queue/connection.ts';
import type { Config } from '../../config.ts';
import { type Database, type RunStatus, sqlPool } from '../../db/client.ts';
import { eventStreamSettings, RunEventPublisher } from '../../events/publish.ts';
import type { Logger } from '../../logger.ts';
import { type Metrics, metrics as processMetrics } from '../../metrics/metrics.ts';
import type { RunError } from '../../pipeline/errors.ts';
import type { ProviderRegistry } from '../../providers/registry.ts';
import type { Provider, Usage } from '../../providers/types.ts';
import { cancelChannel, type RunJobData } from '../../queue/names.ts';
import { delayUntil, enqueueRun } from '../../queue/runs-queue.ts';
import { readDefaultModel } from '../../settings/default-model.ts';
import { secretBoxOf } from '../../crypto/secret-box.ts';
import type { StepToolsOptions } from './agent-loop.ts';
import type { WebhookJobData } from '../../webhooks/enqueue.ts';
import { ApprovalSystem, type Decider } from './approvals.ts';
import { executeRun, type ExecutionOutcome } from './execution.ts';
import { RunOutbox } from './outbox.ts';
import { RunStore } from './store.ts';
import { type Branch, type Submission, SubmissionSystem, submitBranch, type Submitted } from './submission.ts';
import { afterCancelRequest, TerminationSystem } from './termination.ts';

export interface RunEngineDeps {
  config: Config;
  db: Database;
  /** A connection for commands; the engine duplicates it for its event writes. */
  redis: RedisConnection;
  runsQueue: Queue<RunJobData>;
  webhooksQueue: Queue<WebhookJobData>;
  logger: Logger;
  registry: ProviderRegistry;
  /** How a worker calls models; absent in processes that never execute runs (the API). */
  providers?: {
    provider(providerId: string): Promise<Provider>;
    cost(providerId: string, model: string, usage: Usage, at: Date): { cost: string | null; warnings: string[] };
  };
  metrics?: Metrics;
  /** Overrides of how steps reach their tools (tests shorten retries); the rest comes from config. */
  tools?: Partial<StepToolsOptions>;
  now?: () => Date;
}

export interface ExecuteOptions {
  logger?: Logger;
}

/**
 * The one owner of a run's life. Every transition of a run goes through here: submit,
 * start, record a step, complete, fail, cancel, expire, time out; and every run end's
 * effects (terminal event, webhook, metrics) through the outbox. The API and the workers
 * call this facade; nothing else writes `runs` or `run_steps`.
 *
 * Systems: submission (insert + enqueue), execution (snapshot, steps), termination (every
 * end but success), outbox (run-end effects), store (the SQL of all of them).
 */
export class RunEngine {
  readonly #deps: RunEngineDeps;
  readonly #store: RunStore;
  readonly #eventsConnection: RedisConnection;
  readonly #events: RunEventPublisher;
  readonly #outbox: RunOutbox;
  readonly #counters: DeploymentCounters;
  readonly #termination: TerminationSystem;
  readonly #submission: SubmissionSystem;
  readonly #tools: StepToolsOptions;
  readonly #approvals: ApprovalSystem;
  #closed: Promise<void> | undefined;

  constructor(deps: RunEngineDeps) {
    this.#deps = deps;
    const sql = sqlPool(deps.db);
    this.#store = new RunStore(sql);
    // Each event leaves as it is written, without auto-pipelining: ioredis keeps one auto-pipeline per
    // connection in flight, so when the worker was busy, a run's delta waited for the replies to the batch
    // before it (up to 16 ms measured in a burst of runs ending), and the batching saved no CPU.
    this.#eventsConnection = duplicateRedis(deps.redis, { enableAutoPipelining: false });
    this.#events = new RunEventPublisher(this.#eventsConnection, deps.config.REDIS_PREFIX, deps.logger, eventStreamSettings(deps.config));
    this.#counters = new DeploymentCounters(this.#eventsConnection, deps.config.REDIS_PREFIX, { logger: deps.logger.child({ component: 'deployment-counters' }) });
    this.#outbox = new RunOutbox({
      db: deps.db,
      store: this.#store,
      events: this.#events,
      webhooksQueue: deps.webhooksQueue,
      metrics: deps.metrics ?? processMetrics,
      counters: this.#counters,
      logger: deps.logger.child({ component: 'run-outbox' }),
    });
    this.#termination = new TerminationSystem(this.#store, this.#outbox);
    this.#submission = new SubmissionSystem({ sql, runsQueue: deps.runsQueue, logger: deps.logger });
    this.#tools = stepToolsOptions(deps.config, deps.tools);
    this.#approvals = new ApprovalSystem({
      db: deps.db,
      store: this.#store,
      termination: this.#termination,
      events: this.#events,
      runsQueue: deps.runsQueue,
      webhooksQueue: deps.webhooksQueue,
      metrics: deps.metrics ?? processMetrics,
      logger: deps.logger.child({ component: 'run-approvals' }),
    });
  }

  /** Stores a queued run and enqueues it (or names the earlier run of the same idempotency key). */
  submit(submission: Submission): Promise<Submitted> {
    return this.#submission.submit(submission);
  }

  /**
   * Submits a branch of a run: a new queued run (with `parentRunId` and `branchedFromStep`) that
   * reuses the parent's steps before `fromStep` (and `fromStep` too when `output` is given)
   * without a provider call, and runs the rest. Throws RunNotFoundError, PipelineNotFoundError
   * (archived), PipelineOrphanedError (a step to run names a deleted agent) or BranchRefusedError.
   */
  branch(branch: Branch): Promise<Submitted & { created: true }> {
    return submitBranch({ sql: sqlPool(this.#deps.db), runsQueue: this.#deps.runsQueue, logger: this.#deps.logger }, branch);
  }

  /**
   * Approves the approval step a waiting run is at: the run is running again and enqueued, and
   * `output`, if given, replaces the output so far for the following steps. Throws
   * RunNotFoundError, or RunNotWaitingError for a run that is not waiting.
   */
  approve(runId: string, decider: Decider & { output?: string | undefined }): Promise<void> {
    return this.#approvals.approve(runId, decider, this.#now());
  }

  /** Rejects the approval step a waiting run is at: the run ends `failed` with `rejected`. Throws like `approve`. */
  reject(runId: string, decider: Decider): Promise<void> {
    return this.#approvals.reject(runId, decider, this.#now());
  }

  /** An approval step's timeout job fired (in a worker): its `onTimeout` decides if the run still waits there. */
  expireApproval(runId: string, index: number): Promise<'approved' | 'rejected' | 'skipped'> {
    return this.#approvals.expire(runId, index, this.#now());
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  /**
   * A queued or waiting run ends `canceled` at once (and a queued run's job is removed); a running run is flagged and
   * the worker holding it is told, which aborts the call in flight and ends it `canceled`.
   * Throws RunNotFoundError, RunAlreadyEndedError for a run that has ended, or RunStateChangingError for one that changed state at every try.
   */
  async cancel(runId: string): Promise<'canceled' | 'cancel_requested'> {
    // The run may move between the two statements (a worker takes it, it starts waiting, it ends): each round sees a later state.
    for (let round = 1; ; round++) {
      if (await this.#termination.cancelIdle(runId)) {
        await this.#deps.runsQueue.remove(runId).catch((error: unknown) => {
          // A job a worker took meanwhile finds the run canceled and does nothing.
          this.#deps.logger.warn({ runId, err: error }, 'could not remove the job of a canceled run');
        });
        return 'canceled';
      }
      const { status, flagged } = await this.#store.requestCancel(runId, new Date());
      if (afterCancelRequest(runId, status, flagged, round) === 'requested') {
        await this.#deps.redis.publish(cancelChannel(this.#deps.config.REDIS_PREFIX), runId);
        return 'cancel_requested';
      }
    }
  }

  /**
   * Executes a run (in a worker): resumes at its first unfinished step, ends it, and settles
   * its end's effects. See executeRun for what `signal`'s reasons do.
   */
  async execute(runId: string, signal: AbortSignal, options: ExecuteOptions = {}): Promise<ExecutionOutcome> {
    const providers = this.#deps.providers;
    if (!providers) throw new Error('this RunEngine was built without providers: it cannot execute runs');
    const events = this.#events.forRun(runId);
    try {
      return await executeRun(
        {
          store: this.#store,
          approvals: this.#approvals,
          termination: this.#termination,
          outbox: this.#outbox,
          registry: this.#deps.registry,
          provider: providers.provider,
          cost: providers.cost,
          defaultModel: () => readDefaultModel(this.#deps.db),
          logger: options.logger ?? this.#deps.logger,
          maxDurationSeconds: this.#deps.config.RUN_MAX_DURATION_SECONDS,
          tools: this.#tools,
          ...(this.#deps.now ? { now: this.#deps.now } : {}),
        },
        runId,
        events,
        signal,
      );
    } finally {
      await events.settled();
    }
  }

  /** Ends a run `failed` whatever it was doing (a job given up on); false if it had ended already. */
  fail(runId: string, error: RunError): Promise<boolean> {
    return this.#termination.fail(runId, error);
  }

  /**
   * The run's status, read with those of the other runs asked for in the same event-loop turn
   * (one statement); undefined when there is no such run.
   */
  status(runId: string): Promise<RunStatus | undefined> {
    return this.#store.status(runId);
  }

  /** Of `runIds`, those someone asked to cancel (cancel messages missed while disconnected). */
  cancelRequested(runIds: string[]): Promise<string[]> {
    return this.#store.cancelRequested(runIds);
  }

  /**
   * One reconciliation pass; Postgres is the source of truth. Runs it calls queued or running
   * that have no job (Redis lost it, the API died between insert and enqueue) are enqueued
   * again (job id = run id: adding an existing job is a no-op); waiting runs are not (a person
   * resumes them) but get back their approval timeout job and `run.waiting` webhook; run ends whose effects were
   * never settled are settled; webhooks whose job is gone are enqueued again.
   */
  async reconcile(
    options: { graceMs?: number; batchSize?: number; shouldStop?: () => boolean } = {},
  ): Promise<{ runs: number; timeouts: number; effects: number; webhooks: number }> {
    const before = new Date(Date.now() - (options.graceMs ?? 10_000));
    const batchSize = options.batchSize ?? 1000;
    let afterId = '';
    let runs = 0;
    for (;;) {
      const page = await this.#store.activeRuns(before, afterId, batchSize);
      for (const run of page) {
        if (await this.#hasLiveJob(run.id)) continue;
        // A delayed run's job is `delayed` (live) until it is due; a lost one is made again with the time left.
        const delay = delayUntil(run.scheduledFor);
        await enqueueRun(
          this.#deps.runsQueue,
          { runId: run.id, ...(run.requestId ? { requestId: run.requestId } : {}), ...(run.traceContext ? { trace: run.traceContext } : {}) },
          delay > 0 ? { delay } : {},
        );
        runs++;
      }
      if (page.length < batchSize || options.shouldStop?.()) break;
      afterId = page[page.length - 1]!.id;
    }
    if (runs > 0) this.#deps.logger.warn({ reenqueued: runs }, 'reconciler re-enqueued runs that had no job');
    const timeouts = await this.#approvals.reconcile();
    if (timeouts > 0) this.#deps.logger.warn({ timeouts }, 'reconciler re-created the timeouts of waiting runs');
    const outbox = await this.#outbox.reconcile();
    return { runs, timeouts, ...outbox };
  }

  /**
   * A job in a finished state for a run Postgres still calls active is as good as lost:
   * it is removed so the run can be enqueued again.
   */
  async #hasLiveJob(runId: string): Promise<boolean> {
    const state = await this.#deps.runsQueue.getJobState(runId);
    if (state === 'unknown') return false;
    if (state === 'completed' || state === 'failed') {
      await this.#deps.runsQueue.remove(runId).catch(() => undefined);
      return false;
    }
    return true;
  }

  /** Waits for pending event writes and closes the engine's own connection. Safe to call more than once. */
  close(): Promise<void> {
    this.#closed ??= this.#outbox
      .close()
      .catch((error: unknown) => this.#deps.logger.warn({ err: error }, 'run-end marks not written; the reconciler will redo their effects'))
      .then(() => this.#counters.close())
      .then(() => {
        this.#events.flush();
        return this.#eventsConnection.quit();
      })
      .then(
      () => undefined,
      () => this.#eventsConnection.disconnect(),
    );
    return this.#closed;
  }
}

/** HTTP tools are signed like webhooks and, like MCP servers, kept behind the webhook address guard. */
export function stepToolsOptions(config: Config, overrides: Partial<StepToolsOptions> = {}): StepToolsOptions {
  return {
    http: { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, ...(config.WEBHOOK_SECRET ? { secret: config.WEBHOOK_SECRET } : {}), ...overrides.http },
    mcp: { allowPrivate: config.WEBHOOK_ALLOW_PRIVATE, ...overrides.mcp },
    secrets: overrides.secrets ?? secretBoxOf(config),
  };
}

export type { ExecutionOutcome } from './execution.ts';
export type { StepToolsOptions } from './agent-loop.ts';
export type { Decider } from './approvals.ts';
export type * from './approval-types.ts';
export type { RunEnd } from './outbox.ts';
export type { Branch, Submission, Submitted, SubmittedStep } from './submission.ts';
export * from './errors.ts';
export { isInfrastructureError } from './infrastructure.ts';
export { finishRunEndWebhook } from './outbox.ts';
