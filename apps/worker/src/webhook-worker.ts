import {
  type Config,
  type Database,
  type Logger,
  queuePrefix,
  WEBHOOKS_QUEUE,
} from '@conveyor/core';
import { deliverRunWebhook, traceWebhookDelivery } from '@conveyor/core';
import type { WebhookJobData } from '@conveyor/core';
import { webhookBackoffStrategy } from '@conveyor/core';
import type { HostResolver } from '@conveyor/core';
import { Worker } from 'bullmq';
import type { RedisConnection } from '@conveyor/core';

export interface WebhookWorkerDeps {
  config: Config;
  db: Database;
  connection: RedisConnection;
  logger: Logger;
  /** DNS for delivery-time SSRF checks; tests stub it. */
  lookup?: HostResolver;
}

/**
 * The worker of the `webhooks` queue: each job is one delivery attempt, retried on
 * WEBHOOK_RETRY_SCHEDULE. Deliveries only wait on the network, so it runs many at once.
 */
export function createWebhookWorker(deps: WebhookWorkerDeps, options: { concurrency?: number } = {}): Worker<WebhookJobData> {
  const logger = deps.logger.child({ queue: WEBHOOKS_QUEUE });
  if (!deps.config.WEBHOOK_SECRET) logger.warn('WEBHOOK_SECRET is not set: webhooks are sent without a webhook-signature header');
  return new Worker<WebhookJobData>(
    WEBHOOKS_QUEUE,
    async (job) => {
      await traceWebhookDelivery(job.data, job.attemptsMade + 1, () => deliverRunWebhook({ ...deps, logger }, job.data));
    },
    {
      connection: deps.connection,
      prefix: queuePrefix(deps.config.REDIS_PREFIX),
      concurrency: options.concurrency ?? Math.max(deps.config.WORKER_CONCURRENCY, 20),
      settings: { backoffStrategy: webhookBackoffStrategy(deps.config.WEBHOOK_RETRY_SCHEDULE) },
    },
  );
}
