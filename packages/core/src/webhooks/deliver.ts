import { performance } from 'node:perf_hooks';
import { UnrecoverableError } from 'bullmq';
import type { Config } from '../config.ts';
import type { Database } from '../db/client.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../logger.ts';
import { metrics } from '../metrics/metrics.ts';
import { finishRunEndWebhook } from '../runs/engine/outbox.ts';
import { runInclude } from '../runs/serialize.ts';
import { finalOutcomes, type WebhookJobData } from './enqueue.ts';
import { postJson } from './http.ts';
import { effectiveWebhookUrl, isRunEndStatus, runWebhookPayload } from './payload.ts';
import { maxDeliveryAttempts, RetryDeliveryError, retryDelayMs } from './schedule.ts';
import { webhookHeaders } from './sign.ts';
import { assertWebhookUrlSyntax, guardedLookup, type HostResolver, systemResolver, WebhookUrlError } from './ssrf.ts';

export type DeliveryOutcome = 'succeeded' | 'failed' | 'gave_up' | 'stopped';

export interface WebhookDeliveryDeps {
  db: Database;
  config: Pick<Config, 'WEBHOOK_SECRET' | 'WEBHOOK_RETRY_SCHEDULE' | 'WEBHOOK_TIMEOUT_SECONDS' | 'WEBHOOK_ALLOW_PRIVATE'>;
  logger: Logger;
  /** DNS for delivery-time SSRF checks; tests stub it. */
  lookup?: HostResolver;
}

export interface AttemptRecord {
  attempt: number;
  outcome: DeliveryOutcome;
  statusCode: number | null;
  error: string | null;
  durationMs: number;
}

interface Response {
  statusCode: number | null;
  error: string | null;
  /** The receiver or our policy says: do not try again. */
  stop: boolean;
}

async function send(deps: WebhookDeliveryDeps, url: string, messageId: string, body: string): Promise<Response> {
  const allowPrivate = deps.config.WEBHOOK_ALLOW_PRIVATE;
  try {
    const target = assertWebhookUrlSyntax(url, { allowPrivate });
    const headers = webhookHeaders({ id: messageId, sentAt: new Date(), body }, deps.config.WEBHOOK_SECRET);
    const statusCode = await postJson(target, body, {
      headers,
      timeoutMs: deps.config.WEBHOOK_TIMEOUT_SECONDS * 1000,
      ...(allowPrivate ? {} : { lookup: guardedLookup(deps.lookup ?? systemResolver) }),
    });
    if (statusCode >= 200 && statusCode < 300) return { statusCode, error: null, stop: false };
    if (statusCode === 410) return { statusCode, error: 'receiver answered 410 Gone', stop: true };
    if (statusCode >= 300 && statusCode < 400) return { statusCode, error: 'redirects are not followed', stop: false };
    return { statusCode, error: null, stop: false };
  } catch (error) {
    if (error instanceof WebhookUrlError) return { statusCode: null, error: error.message, stop: true };
    return { statusCode: null, error: error instanceof Error ? error.message : String(error), stop: false };
  }
}

function outcomeOf(response: Response, attempt: number, maxAttempts: number): DeliveryOutcome {
  if (response.statusCode !== null && response.statusCode >= 200 && response.statusCode < 300) return 'succeeded';
  if (response.stop) return 'stopped';
  return attempt >= maxAttempts ? 'gave_up' : 'failed';
}

/**
 * One delivery attempt of a run-end webhook, recorded in Postgres whatever happens.
 * Attempts are numbered from Postgres (not the job), so a re-enqueued job continues the
 * same schedule and an event that already reached a final outcome is not sent again on its
 * own; only a resend someone asked for (`job.resend`) makes one more attempt.
 * Returns the attempt (null when nothing was owed); throws RetryDeliveryError to be retried
 * on schedule, UnrecoverableError when it gave up or was stopped. Never touches the run.
 */
export async function deliverRunWebhook(deps: WebhookDeliveryDeps, job: WebhookJobData): Promise<AttemptRecord | null> {
  const log = deps.logger.child({ runId: job.runId, eventId: job.eventId });
  const run = await deps.db.run.findUnique({
    where: { id: job.runId },
    include: { ...runInclude, pipeline: { select: { webhookUrl: true } } },
  });
  const url = run ? effectiveWebhookUrl(run) : null;
  // A run-end event waits for the run's end; a run.waiting event is sent whatever the run did since.
  if (!run || !url || (job.eventType !== 'run.waiting' && !isRunEndStatus(run.status))) {
    log.info('webhook skipped: the run is gone, has not ended or has no webhook URL');
    return null;
  }
  const previous = await deps.db.webhookDelivery.findMany({ where: { eventId: job.eventId }, select: { attempt: true, outcome: true } });
  const finals = previous.filter(({ outcome }) => (finalOutcomes as readonly string[]).includes(outcome)).length;
  // A scheduled delivery ends at its first final outcome; a resend makes its one attempt unless it was made already.
  if (finals > (job.resend ?? 0)) {
    log.info('webhook skipped: already delivered or given up');
    await finishRunEndWebhook(deps.db, job.runId, job.eventType);
    return null;
  }
  const attempt = Math.max(0, ...previous.map((row) => row.attempt)) + 1;
  const maxAttempts = job.resend === undefined ? maxDeliveryAttempts(deps.config.WEBHOOK_RETRY_SCHEDULE) : attempt;
  if (attempt > maxAttempts) throw new UnrecoverableError('no delivery attempts left');

  const body = JSON.stringify(runWebhookPayload(run, job.eventType));
  const started = performance.now();
  const response = await send(deps, url, job.eventId, body);
  const record: AttemptRecord = {
    attempt,
    outcome: outcomeOf(response, attempt, maxAttempts),
    statusCode: response.statusCode,
    error: response.error,
    durationMs: Math.round(performance.now() - started),
  };
  await deps.db.webhookDelivery.create({
    data: { id: newId('whd'), runId: run.id, eventId: job.eventId, eventType: job.eventType, url, ...record },
  });
  log.info({ attempt, outcome: record.outcome, statusCode: record.statusCode }, 'webhook attempt');
  metrics.webhookDelivery(record.outcome);
  if (record.outcome !== 'failed') await finishRunEndWebhook(deps.db, run.id, job.eventType);

  const reason = record.error ?? `receiver answered ${record.statusCode}`;
  if (record.outcome === 'failed') throw new RetryDeliveryError(reason, retryDelayMs(deps.config.WEBHOOK_RETRY_SCHEDULE, attempt)!);
  if (record.outcome !== 'succeeded') throw new UnrecoverableError(reason);
  return record;
}
