import { enqueueRunEndWebhook, finalOutcomes } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { ApiError, notFound } from '../errors.ts';

export interface RedeliveryJson {
  runId: string;
  /** The `webhook-id` of the run's end event. */
  eventId: string;
  /** true: a delivery job was added, or the one waiting for its next scheduled attempt was moved to now. */
  enqueued: true;
}

const refused = (message: string) => new ApiError(409, 'redelivery_refused', message);

/**
 * Sends the run's end event again through the delivery queue (the same job the worker enqueues,
 * so it is deduplicated the same way): an event waiting for its next retry is attempted now, one
 * whose job was lost is enqueued again. Refused with 409 while the run is going, when it has no
 * webhook URL, and when the event has already reached a final outcome (delivered, given up or stopped).
 */
export async function redeliverRunWebhook(deps: Pick<ApiDeps, 'db' | 'webhooksQueue' | 'logger'>, runId: string): Promise<RedeliveryJson> {
  const run = await deps.db.run.findUnique({
    where: { id: runId },
    select: { id: true, status: true, webhookUrl: true, pipeline: { select: { webhookUrl: true } } },
  });
  if (!run) throw notFound('run', runId);
  if (run.status !== 'succeeded' && run.status !== 'failed' && run.status !== 'canceled') {
    throw refused(`run ${runId} has not ended (${run.status}); its webhook is sent when it ends`);
  }
  if (!(run.webhookUrl ?? run.pipeline.webhookUrl)) throw refused(`run ${runId} has no webhook URL (neither the run nor its pipeline has one)`);
  const eventId = `msg_${run.id}_${run.status}`;
  if (await enqueueRunEndWebhook(deps, run.id)) {
    // An event between attempts already has its job, delayed until the next one: attempt it now.
    const job = await deps.webhooksQueue.getJob(eventId);
    if (job && (await job.isDelayed())) await job.promote();
    return { runId: run.id, eventId, enqueued: true };
  }
  const final = await deps.db.webhookDelivery.findFirst({
    where: { eventId, outcome: { in: [...finalOutcomes] } },
    orderBy: { attemptedAt: 'desc' },
    select: { outcome: true },
  });
  const outcome = final?.outcome === 'succeeded' ? 'was delivered' : final?.outcome === 'gave_up' ? 'was given up after its last attempt' : 'was stopped';
  throw refused(`the end event of run ${runId} ${outcome}; it is not sent again`);
}
