import type { Queue } from 'bullmq';
import type { Database } from '../../db/client.ts';
import type { RunEventPublisher, RunEventStream } from '../../events/publish.ts';
import { terminalEventData } from '../../events/from-database.ts';
import type { RunEvent, RunEventMap } from '../../events/types.ts';
import type { Logger } from '../../logger.ts';
import type { DeploymentCounters } from '../../metrics/cluster-counters.ts';
import { type FinishedRun, readFinishedRun, recordFinishedRun } from '../../metrics/run-observer.ts';
import type { Metrics } from '../../metrics/metrics.ts';
import { enqueueRunEndWebhook, type WebhookJobData } from '../../webhooks/enqueue.ts';
import { runEndEvent, type RunEndStatus } from '../../webhooks/payload.ts';
import { runHistory } from './history.ts';
import type { RunStore } from './store.ts';

/** A run that has just ended, as the process that ended it knows it. */
export interface RunEnd {
  runId: string;
  status: RunEndStatus;
  /** The run's own webhook URL, else its pipeline's (as written in the outbox row). */
  webhookUrl: string | null;
  /** The terminal event's data, when at hand; otherwise read back from Postgres. */
  event?: RunEventMap[`run.${RunEndStatus}`];
  /** The run's steps, when at hand (a run that succeeded here); otherwise read back for the metrics. */
  finished?: FinishedRun;
  /** The statement that ended the run has just returned here (not a reconciler's retake). */
  justEnded?: boolean;
  /** The stream the run's events went to in this process: the terminal event follows them on it. */
  stream?: RunEventStream;
  /** `stream` wrote every event of the run (it started here): its history needs no read-back. */
  streamSawWholeRun?: boolean;
  /**
   * The id reserved for the terminal event, with which the statement that ended the run stored
   * its history (terminal event included): when the event gets that id, nothing more is written.
   */
  terminalId?: string;
}

export interface OutboxDeps {
  db: Database;
  store: RunStore;
  events: RunEventPublisher;
  webhooksQueue: Queue<WebhookJobData>;
  metrics: Metrics;
  /** The deployment's counters (what the API's /metrics serves for every worker). */
  counters: DeploymentCounters;
  logger: Logger;
}

export interface OutboxOptions {
  /** An outbox row whose effects are not reported done this long after the run ended is taken over. */
  leaseMs?: number;
  /** Rows looked at per pass. */
  batchSize?: number;
}

/**
 * Run-end effects. The statement that ends a run writes an outbox row in the same
 * transaction; whoever ended the run then emits the terminal event, counts the run in the
 * metrics and enqueues its webhook, and marks the row done. If that process dies first, the
 * reconciler finds the row and does the same. One place for every end of a run: succeeded,
 * failed, canceled, expired or timed out, in a worker or in the API.
 */
export class RunOutbox {
  readonly #leaseMs: number;
  readonly #batchSize: number;

  constructor(
    private readonly deps: OutboxDeps,
    options: OutboxOptions = {},
  ) {
    this.#leaseMs = options.leaseMs ?? 30_000;
    this.#batchSize = options.batchSize ?? 200;
  }

  /**
   * The effects of a run end that this process has just written. Never throws: a miss is the
   * reconciler's. Resolves once the event, the metrics and the webhook are out; the outbox row
   * is marked done a moment later, with other runs' (close() waits for that).
   */
  async settle(end: RunEnd): Promise<void> {
    const type = `run.${end.status}` as const;
    try {
      const data = end.event ?? (await this.#eventData(end.runId));
      const stream = end.stream ?? this.deps.events.forRun(end.runId);
      await stream.emit(type, data as never, end.terminalId);
      const finished = end.finished ?? (await readFinishedRun(this.deps.db, end.runId));
      if (finished) {
        recordFinishedRun(finished, this.deps.metrics);
        await this.deps.counters.add(finished);
      }
      if (end.webhookUrl) {
        await enqueueRunEndWebhook({ db: this.deps.db, webhooksQueue: this.deps.webhooksQueue, logger: this.deps.logger }, end.runId, {
          status: end.status,
          webhookUrl: end.webhookUrl,
          ...(end.justEnded ? { justEnded: true } : {}),
        });
      }
      const seen = end.streamSawWholeRun ? end.stream?.history() : undefined;
      const stored = end.terminalId !== undefined && seen?.at(-1)?.id === end.terminalId;
      const history = stored ? undefined : (seen ?? (await this.#history(stream)));
      this.deps.store.settleOutbox(end.runId, type, history?.length ? history : undefined).catch((error: unknown) => {
        this.deps.logger.warn({ err: error, runId: end.runId }, 'could not mark run-end effects done; the reconciler will redo them');
      });
    } catch (error) {
      this.deps.logger.warn({ err: error, runId: end.runId }, 'run-end effects failed; the reconciler will complete them');
    }
  }

  /** Waits for the outbox rows still to be marked done (before the pool closes). */
  close(): Promise<void> {
    return this.deps.store.drain();
  }

  /**
   * One pass over what is owed: run ends whose effects were never reported done, and webhooks
   * whose job Redis no longer has (lost data, or a job removed before its delivery was final).
   * Returns how many effects were redone and webhooks re-enqueued.
   */
  async reconcile(now = new Date()): Promise<{ effects: number; webhooks: number }> {
    const stale = await this.deps.store.takeStaleOutbox(new Date(now.getTime() - this.#leaseMs), now, this.#batchSize);
    for (const row of stale) {
      const status = row.event.replace(/^run\./, '') as RunEndStatus;
      await this.settle({ runId: row.runId, status, webhookUrl: row.webhookUrl });
    }
    // The rows redone are marked before the pass ends: the next pass must not take them again.
    if (stale.length > 0) await this.deps.store.drain();
    return { effects: stale.length, webhooks: await this.#reenqueueLostWebhooks() };
  }

  async #reenqueueLostWebhooks(): Promise<number> {
    let after = { runId: '', event: '' };
    let reenqueued = 0;
    for (;;) {
      const rows = await this.deps.store.pendingWebhooks(after, this.#batchSize);
      for (const row of rows) {
        const status = row.event.replace(/^run\./, '') as RunEndStatus;
        const state = await this.deps.webhooksQueue.getJobState(runEndEvent(row.runId, status).id);
        if (state !== 'unknown' && state !== 'completed' && state !== 'failed') continue;
        if (state !== 'unknown') await this.deps.webhooksQueue.remove(runEndEvent(row.runId, status).id).catch(() => undefined);
        const enqueued = await enqueueRunEndWebhook({ db: this.deps.db, webhooksQueue: this.deps.webhooksQueue, logger: this.deps.logger }, row.runId);
        if (enqueued) reenqueued++;
        else await this.deps.store.finishWebhook(row.runId, row.event);
      }
      if (rows.length < this.#batchSize) break;
      after = rows[rows.length - 1]!;
    }
    if (reenqueued > 0) this.deps.logger.warn({ reenqueued }, 'webhooks re-enqueued from the outbox');
    return reenqueued;
  }

  /** The run's events as clients saw them live, but the deltas: served with the same ids once the stream expires. */
  async #history(stream: RunEventStream): Promise<RunEvent[]> {
    return runHistory(this.deps.store, stream).catch((error: unknown) => {
      this.deps.logger.warn({ err: error, runId: stream.runId }, 'could not read a run’s event history back; its end is kept without it');
      return [];
    });
  }

  /** The terminal event's data, rebuilt from Postgres (a run end taken over from a process that died). */
  async #eventData(runId: string): Promise<RunEventMap[`run.${RunEndStatus}`]> {
    const run = await this.deps.db.run.findUnique({
      where: { id: runId },
      select: { id: true, status: true, output: true, error: true, inputTokens: true, outputTokens: true, cost: true, artifact: { select: { id: true } } },
    });
    return (run && (terminalEventData(run)?.data as RunEventMap[`run.${RunEndStatus}`] | undefined)) ?? { runId };
  }

}

/** A run-end webhook reached a final outcome (delivered, given up, stopped): its outbox row goes. */
export async function finishRunEndWebhook(db: Database, runId: string, event: string): Promise<void> {
  await db.runOutbox.deleteMany({ where: { runId, event } });
}
