import { Webhook } from 'standardwebhooks';

export interface WebhookMessage {
  /** `webhook-id`: the same for every retry of one event, so receivers can deduplicate. */
  id: string;
  /** When this attempt is sent; receivers reject timestamps too far from their clock. */
  sentAt: Date;
  body: string;
}

/**
 * The Standard Webhooks headers of one attempt. Without a secret the message goes out
 * unsigned (no `webhook-signature`), which the worker warns about at start.
 */
export function webhookHeaders(message: WebhookMessage, secret: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    'webhook-id': message.id,
    'webhook-timestamp': String(Math.floor(message.sentAt.getTime() / 1000)),
  };
  if (secret) headers['webhook-signature'] = new Webhook(secret).sign(message.id, message.sentAt, message.body);
  return headers;
}
