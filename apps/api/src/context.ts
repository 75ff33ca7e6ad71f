import type { Config, Database, Logger, RunJobData } from '@conveyor/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

/** Everything a request handler may use; built once per process in server.ts (or per test). */
export interface ApiDeps {
  config: Config;
  db: Database;
  /** Commands (not subscriptions). */
  redis: Redis;
  runsQueue: Queue<RunJobData>;
  logger: Logger;
}

/** The Hono environment shared by every route, middleware and console page. */
export type AppEnv = {
  Variables: {
    deps: ApiDeps;
    requestId: string;
    logger: Logger;
  };
};
