import type { Config, Database, Logger, ProviderRegistry, RunJobData } from '@conveyor/core';
import type { WebhookJobData } from '@conveyor/core/webhooks/enqueue';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { SqlPool } from '@conveyor/core/db/client';

/** Everything a request handler may use; built once per process in server.ts (or per test). */
export interface ApiDeps {
  config: Config;
  db: Database;
  /** Plain SQL on the same pool as `db`, for the hot path (run submission). */
  sql: SqlPool;
  /** Commands (not subscriptions). */
  redis: Redis;
  runsQueue: Queue<RunJobData>;
  /** For the webhook of a run the API itself ends (a queued run canceled). */
  webhooksQueue: Queue<WebhookJobData>;
  logger: Logger;
  /** Resolves model ids to providers; holds provider definitions only, never calls a provider. */
  registry: ProviderRegistry;
}

/** The Hono environment shared by every route, middleware and console page. */
export type AppEnv = {
  Variables: {
    deps: ApiDeps;
    requestId: string;
    logger: Logger;
  };
};
