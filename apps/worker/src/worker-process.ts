import type { Config } from '@conveyor/core/config';
import type { Prisma } from '@conveyor/core/db/client';
import { computeCost } from '@conveyor/core/catalog/cost';
import { createDatabase } from '@conveyor/core/db/client';
import type { Logger } from '@conveyor/core/logger';
import { instrumentProvider } from '@conveyor/core/metrics/instrument-provider';
import { observeFinishedRun, recordFinishedRun } from '@conveyor/core/metrics/run-observer';
import { ProviderCache } from '@conveyor/core/providers/credentials';
import { limitConcurrency, ProviderLimiter } from '@conveyor/core/providers/limiter';
import { registry } from '@conveyor/core/providers/registry';
import { createRedis } from '@conveyor/core/queue/connection';
import { createRunsQueue } from '@conveyor/core/queue/runs-queue';
import { createWebhooksQueue, enqueueRunEndWebhook } from '@conveyor/core/webhooks/enqueue';
import { reconcileWebhooks } from '@conveyor/core/webhooks/reconcile';
import { Reconciler } from './reconciler.ts';
import { RunWorker } from './run-worker.ts';
import { createWebhookWorker } from './webhook-worker.ts';

export interface WorkerProcess {
  runWorker: RunWorker;
  /** Stops taking jobs, drains within `graceMs`, closes every connection. */
  close(graceMs?: number): Promise<void>;
}

export interface WorkerProcessOptions {
  /** Narrows the runs the reconciler considers (tests sharing a database). */
  reconcileScope?: Prisma.RunWhereInput;
}

/**
 * Builds and starts everything one worker process runs: runs, webhook deliveries,
 * and (unless RECONCILE_INTERVAL_SECONDS is 0) the reconciler.
 */
export async function startWorkerProcess(config: Config, logger: Logger, options: WorkerProcessOptions = {}): Promise<WorkerProcess> {
  const db = createDatabase(config.DATABASE_URL, { max: config.DATABASE_POOL_SIZE });
  const redis = createRedis(config.REDIS_URL);
  const runsQueue = createRunsQueue(redis, config.REDIS_PREFIX);
  const webhooksQueue = createWebhooksQueue(redis, config);
  const providers = new ProviderCache(db, config, { logger });
  const limiter = new ProviderLimiter({ redis, prefix: config.REDIS_PREFIX, limits: config.PROVIDER_CONCURRENCY, logger });

  const runWorker = new RunWorker({
    config,
    db,
    redis,
    logger,
    registry,
    provider: async (providerId) => limitConcurrency(instrumentProvider(await providers.get(providerId)), limiter),
    cost: (providerId, model, usage) => computeCost(`${providerId}:${model}`, usage),
    onRunEnded: async (runId, end) => {
      if (end?.finished) recordFinishedRun(end.finished);
      else await observeFinishedRun(db, runId);
      await enqueueRunEndWebhook({ db, webhooksQueue, logger }, runId, end);
    },
  });
  const webhookConnection = redis.duplicate();
  const webhookWorker = createWebhookWorker({ config, db, connection: webhookConnection, logger });
  const reconciler = new Reconciler(
    {
      db,
      redis,
      runsQueue,
      logger: logger.child({ component: 'reconciler' }),
      prefix: config.REDIS_PREFIX,
      alsoReconcile: () => reconcileWebhooks({ db, webhooksQueue, logger, config }),
    },
    { intervalMs: config.RECONCILE_INTERVAL_SECONDS * 1000, ...(options.reconcileScope ? { scope: options.reconcileScope } : {}) },
  );

  await runWorker.start();
  const reconciling = config.RECONCILE_INTERVAL_SECONDS > 0;
  if (reconciling) await reconciler.start();

  return {
    runWorker,
    async close(graceMs = config.WORKER_SHUTDOWN_GRACE_SECONDS * 1000) {
      await Promise.all([runWorker.close(graceMs), webhookWorker.close(), reconciler.stop()]);
      await Promise.all([runsQueue.close(), webhooksQueue.close()]);
      webhookConnection.disconnect();
      redis.disconnect();
      await db.$disconnect();
    },
  };
}
