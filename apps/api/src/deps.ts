import {
  type Config,
  createDatabase,
  createRedis,
  createRunsQueue,
  createSchedulesQueue,
  createWebhooksQueue,
  type Logger,
  registry,
  RunEngine,
  Schedules,
  sqlPool,
} from '@conveyor/core';
import type { RedisOptions } from 'ioredis';
import type { ApiDeps } from './context.ts';

export interface OwnedApiDeps extends ApiDeps {
  /** Closes the engine, the queues, Redis and the database pool. Safe to call more than once. */
  close(): Promise<void>;
}

/** The connections and queues one API process (or one test) works with. */
export function createApiDeps(
  config: Config,
  logger: Logger,
  options: { poolSize?: number; redis?: RedisOptions } = {},
): OwnedApiDeps {
  const redis = createRedis(config, options.redis);
  const db = createDatabase(config.DATABASE_URL, { max: options.poolSize ?? config.DATABASE_POOL_SIZE, transactionPooler: config.DATABASE_TRANSACTION_POOLER });
  const runsQueue = createRunsQueue(redis, config.REDIS_PREFIX);
  const webhooksQueue = createWebhooksQueue(redis, config);
  const schedulesQueue = createSchedulesQueue(redis, config.REDIS_PREFIX);
  const engine = new RunEngine({ config, db, redis, runsQueue, webhooksQueue, logger, registry });
  const deps: ApiDeps = {
    config,
    db,
    sql: sqlPool(db),
    redis,
    runsQueue,
    webhooksQueue,
    schedulesQueue,
    engine,
    schedules: new Schedules({ db, queue: schedulesQueue, logger, engine }),
    logger,
    registry,
  };
  let closed: Promise<void> | undefined;
  return {
    ...deps,
    close: () =>
      (closed ??= (async () => {
        await Promise.allSettled([deps.engine.close(), runsQueue.close(), webhooksQueue.close(), schedulesQueue.close()]);
        await Promise.allSettled([redis.quit(), db.$disconnect()]);
      })()),
  };
}
