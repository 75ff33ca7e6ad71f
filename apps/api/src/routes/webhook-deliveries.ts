import { createRoute, z } from '@hono/zod-openapi';
import { listRunWebhookDeliveries } from '../services/webhook-deliveries.ts';
import { errorResponses, IdParams, jsonResponse as json, Timestamp } from '../schemas/common.ts';
import { redeliverRunWebhook } from '../services/webhook-redelivery.ts';
import { bearer, createRouter } from './router.ts';

export const WebhookDeliverySchema = z
  .object({
    id: z.string(),
    runId: z.string(),
    eventId: z.string().openapi({ description: 'The `webhook-id` header: the same for every attempt of one event.' }),
    eventType: z.enum(['run.succeeded', 'run.failed', 'run.canceled']),
    url: z.string(),
    attempt: z.number().int().openapi({ description: 'From 1.' }),
    statusCode: z.number().int().nullable().openapi({ description: 'The receiver’s HTTP status; null when no response came.' }),
    error: z.string().nullable().openapi({ description: 'Why the attempt failed (network error, timeout, refused target).' }),
    durationMs: z.number().int().nullable(),
    outcome: z.enum(['succeeded', 'failed', 'gave_up', 'stopped']).openapi({
      description: '`failed`: will be retried; `gave_up`: the last scheduled attempt failed; `stopped`: 410 Gone or a refused target.',
    }),
    attemptedAt: Timestamp,
  })
  .openapi('WebhookDelivery');

const RedeliverySchema = z
  .object({
    runId: z.string(),
    eventId: z.string().openapi({ description: 'The `webhook-id` of the run’s end event.' }),
    enqueued: z.literal(true),
    mode: z.enum(['now', 'resend']).openapi({
      description:
        '`now`: the event was waiting for its next scheduled attempt (or its job was lost) and is attempted at once; `resend`: it had been delivered, given up or stopped, and is sent once more (one attempt, same `webhook-id`).',
    }),
  })
  .openapi('WebhookRedelivery');

export const webhookDeliveriesRoutes = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/runs/{id}/webhook-deliveries',
    tags: ['Runs'],
    security: bearer,
    summary: "List the run's webhook delivery attempts, oldest first",
    request: { params: IdParams },
    responses: {
      200: json(z.object({ data: z.array(WebhookDeliverySchema) }).openapi('WebhookDeliveryList'), 'Every attempt'),
      ...errorResponses(404),
    },
  }),
  async (c) => c.json({ data: await listRunWebhookDeliveries(c.get('deps'), c.req.valid('param').id) }, 200),
).openapi(
  createRoute({
    method: 'post',
    path: '/runs/{id}/webhook-deliveries/redeliver',
    tags: ['Runs'],
    security: bearer,
    summary: "Send the run's end event again",
    description:
      'For an ended run with a webhook URL: an end event waiting for its next retry is attempted now, one whose job was lost is enqueued again, and one already delivered, given up or stopped is sent once more (one attempt, with the same `webhook-id`, so a receiver that keeps ids can deduplicate). Asking again before that attempt is made adds nothing. `409 redelivery_refused` while the run is going or without a webhook URL.',
    request: { params: IdParams },
    responses: { 202: json(RedeliverySchema, 'A delivery attempt is queued'), ...errorResponses(404, 409) },
  }),
  async (c) => c.json({ ...(await redeliverRunWebhook(c.get('deps'), c.req.valid('param').id)), enqueued: true as const }, 202),
);
