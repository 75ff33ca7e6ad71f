import type { Queue } from 'bullmq';
import type { Database } from '../../db/client.ts';
import type { RunEventPublisher, RunEventStream } from '../../events/publish.ts';
import type { Logger } from '../../logger.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import type { RunError } from '../../pipeline/errors.ts';
import { approvalTimeoutJobId, type RunJobData } from '../../queue/names.ts';
import { enqueueRun, runJobOptions } from '../../queue/runs-queue.ts';
import { enqueueRunWaitingWebhook, type WebhookJobData } from '../../webhooks/enqueue.ts';
import { traceCarrier } from '../../telemetry/tracing.ts';
import type { ApprovalDecision } from './approval-types.ts';
import { RunNotFoundError, RunNotWaitingError } from './errors.ts';
import { runHistory } from './history.ts';
import type { ApprovedStep, RunStore, StoredRun, StoredStep } from './store.ts';
import type { TerminationSystem } from './termination.ts';

export interface ApprovalDeps {
  db: Database;
  store: RunStore;
  termination: TerminationSystem;
  events: RunEventPublisher;
  runsQueue: Queue<RunJobData>;
  webhooksQueue: Queue<WebhookJobData>;
  metrics: Metrics;
  logger: Logger;
}

/** A person's decision on the step a run waits at. */
export interface Decider {
  /** Who decides: `api:<token fingerprint>`, `console:<user>`. */
  by: string;
  comment?: string | undefined;
}

/** 1-based, as people count steps. */
const stepLabel = (index: number) => `step ${index + 1}`;

/** The text an approval passes on: a step's output as it is, a run's JSON input as JSON text. */
export function outputText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/**
 * Approval steps. Reaching one, a run becomes `waiting` and its job completes: it holds no
 * worker. Approving puts it back to `running` and enqueues it again (a worker resumes it at
 * the next step); rejecting ends it `failed/rejected`; a timeout does either, by `onTimeout`.
 * Postgres holds the waiting state, so a waiting run outlives any process and Redis's data;
 * the reconciler re-creates its timeout job and its `run.waiting` webhook.
 */
export class ApprovalSystem {
  constructor(private readonly deps: ApprovalDeps) {}

  /**
   * Execution reached approval step `step` of `run` with `output` so far: the run waits.
   * False when it could not (canceled or ended meanwhile).
   */
  async pause(run: StoredRun, step: StoredStep, output: string, events: RunEventStream, now: Date): Promise<boolean> {
    const timeoutSeconds = step.approval?.timeoutSeconds;
    const until = timeoutSeconds ? new Date(now.getTime() + timeoutSeconds * 1000) : null;
    const waiting = await this.deps.store.wait(run.id, step.index, output, now, until);
    if (!waiting) return false;
    Object.assign(step, { status: 'waiting', output, startedAt: now });
    void events.emit('run.waiting', { index: step.index, output });
    events.keepWhileWaiting(until, now);
    await this.#keepHistory(events);
    this.deps.metrics.approvalStep('waiting');
    try {
      if (until) await this.#scheduleTimeout(run.id, step.index, until);
      await enqueueRunWaitingWebhook(this.#webhookDeps(), run.id, step.index, waiting.webhookUrl, true);
    } catch (error) {
      this.deps.logger.warn({ err: error, runId: run.id }, 'could not schedule a waiting run’s timeout or webhook; the reconciler will');
    }
    return true;
  }

  /**
   * The run's events so far, kept in Postgres for the wait: its Redis stream is kept for the
   * wait too, but a wait without a timeout may outlast it (30 days), and Redis may lose its data.
   */
  async #keepHistory(events: RunEventStream): Promise<void> {
    try {
      await this.deps.store.keepEvents(events.runId, await runHistory(this.deps.store, events));
    } catch (error) {
      this.deps.logger.warn({ err: error, runId: events.runId }, 'could not keep a waiting run’s events in Postgres; its Redis stream keeps them for the wait');
    }
  }

  /** Approves the step the run waits at; `output` replaces the output so far for the following steps. */
  async approve(runId: string, decider: Decider & { output?: string | undefined }, now = new Date()): Promise<void> {
    const approved = await this.deps.store.approve(runId, this.#decision('approved', decider, now), decider.output);
    if (!approved) throw await this.#notWaiting(runId);
    this.deps.metrics.approvalStep('approved');
    await this.#resume(runId, approved);
  }

  /** Ends the waiting run `failed` with `rejected`. */
  async reject(runId: string, decider: Decider, now = new Date()): Promise<void> {
    const state = await this.deps.store.waitState(runId);
    if (!state) throw new RunNotFoundError(runId);
    if (state.status !== 'waiting' || state.index === null) throw new RunNotWaitingError(runId, state.status);
    const comment = decider.comment ? `: ${decider.comment}` : '';
    const error: RunError = { code: 'rejected', message: `${stepLabel(state.index)} was rejected by ${decider.by}${comment}`, step: state.index };
    if (!(await this.deps.termination.reject(runId, error, this.#decision('rejected', decider, now), now))) throw await this.#notWaiting(runId);
    this.deps.metrics.approvalStep('rejected');
  }

  /** The timeout job of approval step `index` fired: its `onTimeout` decides, if the run still waits there. */
  async expire(runId: string, index: number, now = new Date()): Promise<'approved' | 'rejected' | 'skipped'> {
    const run = await this.deps.store.load(runId);
    const step = run?.steps.find((candidate) => candidate.status === 'waiting');
    if (!run || run.status !== 'waiting' || !step || step.index !== index) return 'skipped';
    // A delayed job fires at its time or later; earlier means clocks differ between machines.
    const early = run.waitingUntil ? run.waitingUntil.getTime() - now.getTime() : 0;
    if (early > 5000) return 'skipped'; // The job is removed once done: the reconciler adds it again.
    if (early > 0) await new Promise((resolve) => setTimeout(resolve, early));
    const seconds = step.approval?.timeoutSeconds ?? 0;
    const decider: Decider = { by: 'timeout' };
    if (step.approval?.onTimeout === 'approve') {
      const approved = await this.deps.store.approve(runId, { ...this.#decision('approved', decider, now), timedOut: true }, undefined, index);
      if (!approved) return 'skipped';
      this.deps.metrics.approvalStep('timed_out');
      await this.#resume(runId, approved);
      return 'approved';
    }
    const error: RunError = { code: 'rejected', message: `${stepLabel(index)} had no decision within its timeout of ${seconds} s`, step: index };
    const ended = await this.deps.termination.reject(runId, error, { ...this.#decision('rejected', decider, now), timedOut: true }, now);
    if (!ended) return 'skipped';
    this.deps.metrics.approvalStep('timed_out');
    return 'rejected';
  }

  /**
   * Waiting runs are never re-enqueued: a person resumes them. Each gets back what Redis may
   * have lost: its timeout job and its `run.waiting` webhook. Returns how many jobs were re-created.
   */
  async reconcile(batchSize = 500): Promise<number> {
    let afterId = '';
    let recreated = 0;
    for (;;) {
      const page = await this.deps.store.waitingRuns(afterId, batchSize);
      for (const run of page) {
        if (run.waitingUntil && (await this.#scheduleTimeout(run.id, run.index, run.waitingUntil))) recreated++;
        await enqueueRunWaitingWebhook(this.#webhookDeps(), run.id, run.index, run.webhookUrl);
      }
      if (page.length < batchSize) break;
      afterId = page[page.length - 1]!.id;
    }
    return recreated;
  }

  #decision(decision: ApprovalDecision['decision'], decider: Decider, now: Date): ApprovalDecision {
    return { decision, by: decider.by, at: now.toISOString(), ...(decider.comment ? { comment: decider.comment } : {}) };
  }

  async #notWaiting(runId: string): Promise<Error> {
    const state = await this.deps.store.waitState(runId);
    return state ? new RunNotWaitingError(runId, state.status) : new RunNotFoundError(runId);
  }

  /** The approved step is done: clients see it complete, and a worker takes the run again. */
  async #resume(runId: string, approved: ApprovedStep): Promise<void> {
    const events = this.deps.events.forRun(runId);
    await events.emit('step.completed', { index: approved.index, output: approved.output, usage: { inputTokens: 0, outputTokens: 0 }, cost: null });
    try {
      await this.#requeue(runId, approved);
    } catch (error) {
      // The run is `running` with no job: the reconciler enqueues it.
      this.deps.logger.warn({ err: error, runId }, 'could not enqueue an approved run; the reconciler will');
    }
    await this.deps.runsQueue.remove(approvalTimeoutJobId(runId, approved.index)).catch(() => undefined);
  }

  /**
   * The run's job id is its id, and the job that took it to the approval step may still be
   * finishing or kept as completed: a finished one is removed so the run can be enqueued again.
   */
  async #requeue(runId: string, { requestId, traceContext }: ApprovedStep): Promise<void> {
    for (let tries = 0; tries < 50; tries++) {
      const state = await this.deps.runsQueue.getJobState(runId);
      if (state === 'active') {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (state === 'completed' || state === 'failed') await this.deps.runsQueue.remove(runId);
      break;
    }
    // The resumed attempt continues the run's trace and links to what resumed it (the approving request, or the timeout).
    const { trace: resumedBy } = traceCarrier();
    await enqueueRun(this.deps.runsQueue, { runId, ...(requestId ? { requestId } : {}), ...(traceContext ? { trace: traceContext } : {}), ...(resumedBy ? { resumedBy } : {}) });
  }

  /** Adds the delayed job that applies the timeout unless it is there; true if one was added. */
  async #scheduleTimeout(runId: string, index: number, until: Date): Promise<boolean> {
    const jobId = approvalTimeoutJobId(runId, index);
    const state = await this.deps.runsQueue.getJobState(jobId);
    if (state === 'delayed' || state === 'waiting' || state === 'prioritized' || state === 'active' || state === 'waiting-children') return false;
    if (state !== 'unknown') await this.deps.runsQueue.remove(jobId).catch(() => undefined);
    await this.deps.runsQueue.add(
      'approval-timeout',
      { runId, approvalTimeout: index },
      { ...runJobOptions, jobId, delay: Math.max(0, until.getTime() - Date.now()), removeOnComplete: true, removeOnFail: true },
    );
    return true;
  }

  #webhookDeps() {
    return { db: this.deps.db, webhooksQueue: this.deps.webhooksQueue, logger: this.deps.logger };
  }
}
