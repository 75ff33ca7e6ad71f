import type { Database } from '../db/client.ts';
import { finalOutcomes, type WebhookJobData, type WebhookQueueDeps } from './enqueue.ts';
import { effectiveWebhookUrl, isRunEndStatus, runEndEvent } from './payload.ts';

export class RedeliveryRefusedError extends Error {
  override name = 'RedeliveryRefusedError';
}

export class RedeliveryRunNotFoundError extends Error {
  override name = 'RedeliveryRunNotFoundError';
  constructor(readonly runId: string) {
    super(`run ${runId} not found`);
  }
}

export interface Redelivery {
  runId: string;
  /** The `webhook-id` of the run's end event: the same on every attempt, so receivers can deduplicate. */
  eventId: string;
  /**
   * `now`: the event was waiting for its next scheduled attempt (or its job was lost) and is attempted at once;
   * `resend`: it had reached a final outcome (delivered, given up, stopped) and is sent once more.
   */
  mode: 'now' | 'resend';
}

/**
 * Sends a run's end event again, on a person's request. An event still on its retry schedule
 * is attempted now (its job, or a new one if Redis lost it); one that reached a final outcome
 * gets one more attempt, a job of its own so the schedule's record is untouched. Asking twice
 * before that attempt is made adds nothing. Refused while the run is going and without a webhook URL.
 */
export async function redeliverRunEndWebhook(deps: WebhookQueueDeps, runId: string): Promise<Redelivery> {
  const run = await deps.db.run.findUnique({
    where: { id: runId },
    select: { id: true, status: true, webhookUrl: true, pipeline: { select: { webhookUrl: true } } },
  });
  if (!run) throw new RedeliveryRunNotFoundError(runId);
  if (!isRunEndStatus(run.status)) throw new RedeliveryRefusedError(`run ${runId} has not ended (${run.status}); its webhook is sent when it ends`);
  if (!effectiveWebhookUrl(run)) throw new RedeliveryRefusedError(`run ${runId} has no webhook URL (neither the run nor its pipeline has one)`);
  const event = runEndEvent(run.id, run.status);
  const finals = await finalOutcomeCount(deps.db, event.id);
  if (finals === 0) {
    const job = await deps.webhooksQueue.getJob(event.id);
    if (job && (await job.isDelayed())) await job.promote();
    else if (!job || (await job.isFailed()) || (await job.isCompleted())) {
      await job?.remove();
      await addJob(deps, { runId: run.id, eventId: event.id, eventType: event.type }, event.id);
    }
    return { runId: run.id, eventId: event.id, mode: 'now' };
  }
  await addJob(deps, { runId: run.id, eventId: event.id, eventType: event.type, resend: finals }, `${event.id}_resend${finals}`, { attempts: 1 });
  deps.logger?.info({ runId: run.id, eventId: event.id, resend: finals }, 'webhook resend enqueued');
  return { runId: run.id, eventId: event.id, mode: 'resend' };
}

function finalOutcomeCount(db: Database, eventId: string): Promise<number> {
  return db.webhookDelivery.count({ where: { eventId, outcome: { in: [...finalOutcomes] } } });
}

async function addJob(deps: WebhookQueueDeps, data: WebhookJobData, jobId: string, options: { attempts?: number } = {}): Promise<void> {
  await deps.webhooksQueue.add(data.eventType, data, { jobId, ...options });
}
