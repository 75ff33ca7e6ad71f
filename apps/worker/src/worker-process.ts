import {
  type Config,
  computeCost,
  createDatabase,
  createRedis,
  duplicateRedis,
  createRunsQueue,
  createSchedulesQueue,
  createWebhooksQueue,
  instrumentProvider,
  isCluster,
  traceProvider,
  limitConcurrency,
  type Logger,
  ProviderCache,
  ProviderLimiter,
  registry,
  RunEngine,
  Schedules,
} from '@conveyor/core';
import { Reconciler } from './reconciler.ts';
import { RunWorker } from './run-worker.ts';
import { createScheduleWorker } from './schedule-worker.ts';
import { createWebhookWorker } from './webhook-worker.ts';

export interface WorkerProcess {
  runWorker: RunWorker;
  engine: RunEngine;
  /** Stops taking jobs, drains within `graceMs`, closes every connection. Safe to call more than once. */
  close(graceMs?: number): Promise<void>;
}

/**
 * Builds and starts everything one worker process runs: runs, webhook deliveries,
 * and (unless RECONCILE_INTERVAL_SECONDS is 0) the reconciler.
 */
export async function startWorkerProcess(config: Config, logger: Logger): Promise<WorkerProcess> {
  const db = createDatabase(config.DATABASE_URL, { max: config.DATABASE_POOL_SIZE, transactionPooler: config.DATABASE_TRANSACTION_POOLER });
  const redis = createRedis(config);
  const runsQueue = createRunsQueue(redis, config.REDIS_PREFIX);
  const webhooksQueue = createWebhooksQueue(redis, config);
  // The credentials version is read after each announced change, and before every call while the subscription is down.
  const credentialsRedis = duplicateRedis(redis, { enableAutoPipelining: true });
  // A cluster client may move its subscription to another node without a sign: on a cluster, the version is read before every call.
  const credentialsSubscriber = isCluster(redis) ? undefined : duplicateRedis(redis);
  const providers = new ProviderCache(db, config, { logger, redis: credentialsRedis, subscriber: credentialsSubscriber });
  const limiter = new ProviderLimiter({ redis, prefix: config.REDIS_PREFIX, limits: config.PROVIDER_CONCURRENCY, logger });

  const engine = new RunEngine({
    config,
    db,
    redis,
    runsQueue,
    webhooksQueue,
    logger,
    registry,
    providers: {
      provider: async (providerId) => limitConcurrency(traceProvider(instrumentProvider(await providers.get(providerId))), limiter),
      cost: (providerId, model, usage, at) => computeCost(`${providerId}:${model}`, usage, at),
    },
  });
  const runWorker = new RunWorker({ config, engine, redis, logger });
  const webhookConnection = duplicateRedis(redis);
  const webhookWorker = createWebhookWorker({ config, db, connection: webhookConnection, logger });
  const schedulesQueue = createSchedulesQueue(redis, config.REDIS_PREFIX);
  const schedules = new Schedules({ db, queue: schedulesQueue, logger, engine });
  const scheduleConnection = duplicateRedis(redis);
  const scheduleWorker = createScheduleWorker({ schedules, connection: scheduleConnection, prefix: config.REDIS_PREFIX, logger });
  const reconciler = new Reconciler(
    { engine, schedules, redis, logger: logger.child({ component: 'reconciler' }), prefix: config.REDIS_PREFIX },
    { intervalMs: config.RECONCILE_INTERVAL_SECONDS * 1000 },
  );

  await runWorker.start();
  if (config.RECONCILE_INTERVAL_SECONDS > 0) await reconciler.start();

  let closed: Promise<void> | undefined;
  return {
    runWorker,
    engine,
    close(graceMs = config.WORKER_SHUTDOWN_GRACE_SECONDS * 1000) {
      closed ??= (async () => {
        await Promise.all([runWorker.close(graceMs), webhookWorker.close(), scheduleWorker.close(), reconciler.stop()]);
        await Promise.all([runsQueue.close(), webhooksQueue.close(), schedulesQueue.close(), engine.close(), providers.close()]);
        webhookConnection.disconnect();
        scheduleConnection.disconnect();
        credentialsRedis.disconnect();
        credentialsSubscriber?.disconnect();
        redis.disconnect();
        await db.$disconnect();
      })();
      return closed;
    },
  };
}
