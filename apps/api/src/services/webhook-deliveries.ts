import type { WebhookDeliveryModel } from '@conveyor/core';
import type { z } from '@hono/zod-openapi';
import type { ApiDeps } from '../context.ts';
import { notFound } from '../errors.ts';
import type { WebhookDeliverySchema } from '../routes/webhook-deliveries.ts';

export type WebhookDeliveryJson = z.infer<typeof WebhookDeliverySchema>;

const serializeDelivery = (row: WebhookDeliveryModel): WebhookDeliveryJson => ({
  id: row.id,
  runId: row.runId,
  eventId: row.eventId,
  eventType: row.eventType as WebhookDeliveryJson['eventType'],
  url: row.url,
  attempt: row.attempt,
  statusCode: row.statusCode,
  error: row.error,
  durationMs: row.durationMs,
  outcome: row.outcome as WebhookDeliveryJson['outcome'],
  attemptedAt: row.attemptedAt.toISOString(),
});

/** Every delivery attempt of a run's webhook, oldest first. */
export async function listRunWebhookDeliveries(deps: Pick<ApiDeps, 'db'>, runId: string): Promise<WebhookDeliveryJson[]> {
  const run = await deps.db.run.findUnique({
    where: { id: runId },
    select: { id: true, deliveries: { orderBy: [{ attemptedAt: 'asc' }, { attempt: 'asc' }] } },
  });
  if (!run) throw notFound('run', runId);
  return run.deliveries.map(serializeDelivery);
}
