import { type JobsOptions, Queue } from 'bullmq';
import type { RedisConnection } from '../queue/connection.ts';
import type { Config } from '../config.ts';
import type { Database, RunStatus } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { queuePrefix, WEBHOOKS_QUEUE } from '../queue/names.ts';
import { effectiveWebhookUrl, isRunEndStatus, runEndEvent, runWaitingEvent, type RunWebhookType } from './payload.ts';
import { maxDeliveryAttempts, WEBHOOK_BACKOFF } from './schedule.ts';
import { traceCarrier } from '../telemetry/tracing.ts';

/** A delivery job: one run end. Its job id is `eventId`. The URL is read at delivery, so it never sits in Redis. */
export interface WebhookJobData {
  runId: string;
  eventId: string;
  eventType: RunWebhookType;
  /**
   * Set on a redelivery asked for after the event reached a final outcome: the number of final
   * outcomes it had then. Such a job makes one attempt, with the same `webhook-id`.
   */
  resend?: number;
  /** W3C trace context of the run whose end this reports (with tracing on). */
  trace?: Record<string, string>;
}

export interface WebhookQueueDeps {
  db: Database;
  webhooksQueue: Queue<WebhookJobData>;
  logger?: Logger;
}

/** Outcomes after which an event is never attempted again. */
export const finalOutcomes = ['succeeded', 'gave_up', 'stopped'] as const;

/**
 * The queue's default job options carry the retry policy, so whoever enqueues needs
 * only the queue. Finished jobs leave Redis; Postgres keeps every attempt.
 */
export function webhookJobOptions(schedule: readonly number[]): JobsOptions {
  return {
    attempts: maxDeliveryAttempts(schedule),
    backoff: { type: WEBHOOK_BACKOFF },
    removeOnComplete: { age: 3600, count: 1000 },
    removeOnFail: { age: 7 * 24 * 3600, count: 5000 },
  };
}

export function createWebhooksQueue(
  connection: RedisConnection,
  config: Pick<Config, 'REDIS_PREFIX' | 'WEBHOOK_RETRY_SCHEDULE'>,
): Queue<WebhookJobData> {
  return new Queue<WebhookJobData>(WEBHOOKS_QUEUE, {
    connection,
    prefix: queuePrefix(config.REDIS_PREFIX),
    defaultJobOptions: webhookJobOptions(config.WEBHOOK_RETRY_SCHEDULE),
  });
}

/** A run end as the process that ended it knows it: spares reading the run back. */
export interface KnownRunEnd {
  status: RunStatus;
  /** The run's own webhook URL, else its pipeline's. */
  webhookUrl: string | null;
  /** The run has just ended here, so no attempt of its event can exist yet: Postgres need not be asked. */
  justEnded?: boolean;
}

/**
 * Enqueues the webhook of a run that has ended, if it or its pipeline has a webhook URL
 * and the event has not been delivered already. Safe to call any number of times: the
 * job id is the event id, and a duplicate job that slips past (after the first was
 * removed from Redis) finds the final attempt in Postgres and sends nothing.
 * Returns whether a job was added or already waiting.
 */
export async function enqueueRunEndWebhook(deps: WebhookQueueDeps, runId: string, known?: KnownRunEnd): Promise<boolean> {
  const run = known ? { id: runId, status: known.status, webhookUrl: known.webhookUrl } : await readRunEnd(deps.db, runId);
  if (!run || !isRunEndStatus(run.status) || !run.webhookUrl) return false;
  const event = runEndEvent(run.id, run.status);
  if (!known?.justEnded) {
    const finished = await deps.db.webhookDelivery.count({
      where: { eventId: event.id, outcome: { in: [...finalOutcomes] } },
    });
    if (finished > 0) return false;
  }
  await deps.webhooksQueue.add(event.type, { runId: run.id, eventId: event.id, eventType: event.type, ...traceCarrier() }, { jobId: event.id });
  deps.logger?.debug({ runId: run.id, eventId: event.id }, 'webhook enqueued');
  return true;
}

/**
 * Enqueues the `run.waiting` webhook of a run waiting at approval step `index` (to `webhookUrl`,
 * the run's or its pipeline's), unless that event reached a final outcome already. Safe to
 * call any number of times: the job id is the event id. `justWaited` spares the Postgres check.
 */
export async function enqueueRunWaitingWebhook(
  deps: WebhookQueueDeps,
  runId: string,
  index: number,
  webhookUrl: string | null,
  justWaited = false,
): Promise<boolean> {
  if (!webhookUrl) return false;
  const event = runWaitingEvent(runId, index);
  if (!justWaited) {
    const finished = await deps.db.webhookDelivery.count({ where: { eventId: event.id, outcome: { in: [...finalOutcomes] } } });
    if (finished > 0) return false;
  }
  await deps.webhooksQueue.add(event.type, { runId, eventId: event.id, eventType: event.type }, { jobId: event.id });
  return true;
}

async function readRunEnd(db: Database, runId: string) {
  const run = await db.run.findUnique({
    where: { id: runId },
    select: { id: true, status: true, webhookUrl: true, pipeline: { select: { webhookUrl: true } } },
  });
  return run && { id: run.id, status: run.status, webhookUrl: effectiveWebhookUrl(run) };
}
