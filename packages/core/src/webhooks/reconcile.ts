import type { Config } from '../config.ts';
import { Prisma } from '../db/client.ts';
import { enqueueRunEndWebhook, type WebhookQueueDeps } from './enqueue.ts';
import { longestRetryDelayMs } from './schedule.ts';

export interface ReconcileWebhooksOptions {
  /** Only runs that ended this recently are considered. Default: 48 hours. */
  lookbackMs?: number;
  /** At most this many runs per pass. Default: 500. */
  limit?: number;
  /** Only this pipeline's runs (an operator re-driving one pipeline, or a test that shares its database). */
  pipelineId?: string;
}

const STALE_MARGIN_MS = 60_000;

/**
 * Postgres is the record of which run ends still owe a webhook: a run that ended
 * (recently, with a webhook URL) and has no final attempt is either waiting in the
 * queue, or its job was lost (worker killed before enqueueing, Redis data lost).
 * Enqueueing is idempotent, so this re-adds exactly the lost ones. Runs whose last
 * attempt failed recently are left alone: their retry is still scheduled.
 * Returns how many runs were (re)enqueued or found already waiting.
 */
export async function reconcileWebhooks(
  deps: WebhookQueueDeps & { config: Pick<Config, 'WEBHOOK_RETRY_SCHEDULE' | 'WEBHOOK_TIMEOUT_SECONDS'> },
  options: ReconcileWebhooksOptions = {},
): Promise<number> {
  const now = Date.now();
  const endedAfter = new Date(now - (options.lookbackMs ?? 48 * 3600_000));
  const retryPendingAfter = new Date(
    now - longestRetryDelayMs(deps.config.WEBHOOK_RETRY_SCHEDULE) - deps.config.WEBHOOK_TIMEOUT_SECONDS * 1000 - STALE_MARGIN_MS,
  );
  const rows = await deps.db.$queryRaw<Array<{ id: string }>>`
    SELECT r.id FROM runs r JOIN pipelines p ON p.id = r.pipeline_id
    WHERE r.status IN ('succeeded', 'failed', 'canceled')
      AND COALESCE(r.finished_at, r.updated_at) > ${endedAfter}
      AND COALESCE(r.webhook_url, p.webhook_url) IS NOT NULL
      ${options.pipelineId === undefined ? Prisma.empty : Prisma.sql`AND r.pipeline_id = ${options.pipelineId}`}
      AND NOT EXISTS (
        SELECT 1 FROM webhook_deliveries d
        WHERE d.run_id = r.id AND (d.outcome <> 'failed' OR d.attempted_at > ${retryPendingAfter})
      )
    ORDER BY COALESCE(r.finished_at, r.updated_at) DESC
    LIMIT ${options.limit ?? 500}`;
  let enqueued = 0;
  for (const { id } of rows) {
    if (await enqueueRunEndWebhook(deps, id)) enqueued++;
  }
  if (enqueued > 0) deps.logger?.debug({ enqueued }, 'webhooks reconciled');
  return enqueued;
}
