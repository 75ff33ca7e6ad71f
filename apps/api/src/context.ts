import type { Config, Database, Logger, ProviderRegistry, RunEngine, RunJobData, ScheduleJobData, Schedules, SqlPool, WebhookJobData } from '@conveyor/core';
import type { Queue } from 'bullmq';
import type { RedisConnection } from '@conveyor/core';

/** Everything a request handler may use; built once per process in server.ts (or per test). */
export interface ApiDeps {
  config: Config;
  db: Database;
  /** Plain SQL on the same pool as `db`, for reads the ORM serves poorly. */
  sql: SqlPool;
  /** Commands (not subscriptions). */
  redis: RedisConnection;
  runsQueue: Queue<RunJobData>;
  webhooksQueue: Queue<WebhookJobData>;
  /** Fires of schedules (the dashboard and the queue-depth metric show it). */
  schedulesQueue: Queue<ScheduleJobData>;
  /** Every change of a run's state goes through it. */
  engine: RunEngine;
  /** Schedules: stored in Postgres, kept as BullMQ job schedulers. */
  schedules: Schedules;
  logger: Logger;
  /** Resolves model ids to providers; holds provider definitions only, never calls a provider. */
  registry: ProviderRegistry;
}

/**
 * The Hono environment shared by every route, middleware and console page. Variables are read
 * with `c.get(name)`: each `c.var` access copies every variable into a new object (Hono 4.13),
 * several times per request.
 */
export type AppEnv = {
  Variables: {
    deps: ApiDeps;
    requestId: string;
    logger: Logger;
    /** Who is calling `/v1`: `api:<fingerprint of the bearer token>` (never the token itself). */
    principal?: string;
  };
};
