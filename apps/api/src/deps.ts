import { type Config, createRedis, createRunsQueue, type Logger } from '@conveyor/core';
import { createWebhooksQueue } from '@conveyor/core/webhooks/enqueue';
import type { RedisOptions } from 'ioredis';
import type { ApiDeps } from './context.ts';
import { createDatabase, sqlPool } from '@conveyor/core/db/client';
import { createProviderRegistry } from './provider-registry.ts';

export interface OwnedApiDeps extends ApiDeps {
  /** Closes the queues, Redis and the database pool. */
  close(): Promise<void>;
}

/** The connections and queues one API process (or one test) works with. */
export function createApiDeps(
  config: Config,
  logger: Logger,
  options: { poolSize?: number; redis?: RedisOptions } = {},
): OwnedApiDeps {
  const redis = createRedis(config.REDIS_URL, options.redis);
  const db = createDatabase(config.DATABASE_URL, { max: options.poolSize ?? config.DATABASE_POOL_SIZE });
  const deps = {
    config,
    db,
    sql: sqlPool(db),
    redis,
    runsQueue: createRunsQueue(redis, config.REDIS_PREFIX),
    webhooksQueue: createWebhooksQueue(redis, config),
    logger,
    registry: createProviderRegistry(),
  };
  return {
    ...deps,
    close: async () => {
      await Promise.allSettled([deps.runsQueue.close(), deps.webhooksQueue.close()]);
      await Promise.allSettled([redis.quit(), db.$disconnect()]);
    },
  };
}
