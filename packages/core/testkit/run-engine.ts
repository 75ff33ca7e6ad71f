import type { Queue } from 'bullmq';
import { computeCost } from '../src/catalog/cost.ts';
import type { Config } from '../src/config.ts';
import type { Database } from '../src/db/client.ts';
import { createLogger } from '../src/logger.ts';
import '../src/providers/all.ts';
import { ProviderCache } from '../src/providers/credentials.ts';
import { registry } from '../src/providers/registry.ts';
import type { RedisConnection } from '../src/queue/connection.ts';
import type { RunJobData } from '../src/queue/names.ts';
import { createRunsQueue } from '../src/queue/runs-queue.ts';
import { RunEngine, type RunEngineDeps } from '../src/runs/engine/index.ts';
import { createWebhooksQueue, type WebhookJobData } from '../src/webhooks/enqueue.ts';

export interface TestRunEngine {
  engine: RunEngine;
  runsQueue: Queue<RunJobData>;
  webhooksQueue: Queue<WebhookJobData>;
  /** Closes the engine, then empties and closes its queues (the connections stay the caller's). */
  close(): Promise<void>;
}

/**
 * A run engine as a worker builds it, on `config`'s Redis prefix, with queues of its own, a
 * silent logger and providers priced at call time; `overrides` replace single members (metrics, now...).
 */
export function testRunEngine(setup: { db: Database; redis: RedisConnection; config: Config }, overrides: Partial<RunEngineDeps> = {}): TestRunEngine {
  const { db, redis, config } = setup;
  const runsQueue = createRunsQueue(redis, config.REDIS_PREFIX);
  const webhooksQueue = createWebhooksQueue(redis, config);
  const providers = new ProviderCache(db, config);
  const engine = new RunEngine({
    config,
    db,
    redis,
    runsQueue,
    webhooksQueue,
    logger: createLogger({ level: 'silent' }),
    registry,
    providers: { provider: (id) => providers.get(id), cost: (provider, model, usage, at) => computeCost(`${provider}:${model}`, usage, at) },
    ...overrides,
  });
  return {
    engine,
    runsQueue,
    webhooksQueue,
    async close() {
      await engine.close();
      await Promise.all([runsQueue.obliterate({ force: true }), webhooksQueue.obliterate({ force: true })]);
      await Promise.all([runsQueue.close(), webhooksQueue.close()]);
    },
  };
}
