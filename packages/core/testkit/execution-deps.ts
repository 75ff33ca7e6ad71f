import { computeCost } from '../src/catalog/cost.ts';
import type { Config } from '../src/config.ts';
import { type Database, sqlPool } from '../src/db/client.ts';
import { RunEventPublisher } from '../src/events/publish.ts';
import type { Logger } from '../src/logger.ts';
import { DeploymentCounters } from '../src/metrics/cluster-counters.ts';
import { Metrics } from '../src/metrics/metrics.ts';
import '../src/providers/all.ts';
import { ProviderCache } from '../src/providers/credentials.ts';
import { registry } from '../src/providers/registry.ts';
import type { RedisConnection } from '../src/queue/connection.ts';
import type { ExecutionDeps } from '../src/runs/engine/execution.ts';
import { stepToolsOptions } from '../src/runs/engine/index.ts';
import { RunOutbox } from '../src/runs/engine/outbox.ts';
import { RunStore } from '../src/runs/engine/store.ts';
import { TerminationSystem } from '../src/runs/engine/termination.ts';
import { readDefaultModel } from '../src/settings/default-model.ts';
import { createWebhooksQueue } from '../src/webhooks/enqueue.ts';

export interface ExecutionDepsSetup {
  db: Database;
  redis: RedisConnection;
  config: Config;
  logger: Logger;
  /** The run store (default: one on `db`); the outbox and termination write through it too. */
  store?: RunStore;
  /** The configuration providers are built from (default: `config`). */
  providerConfig?: Config;
  metrics?: Metrics;
}

/**
 * What `executeRun` needs, wired as the engine wires it: real store, outbox, termination and
 * providers; no approval ever pauses. `overrides` replace single members (tools, now, approvals...).
 */
export function testExecutionDeps(setup: ExecutionDepsSetup, overrides: Partial<ExecutionDeps> = {}): ExecutionDeps {
  const { db, redis, config, logger } = setup;
  const store = setup.store ?? new RunStore(sqlPool(db));
  const providers = new ProviderCache(db, setup.providerConfig ?? config, { logger });
  const outbox = new RunOutbox({
    db,
    store,
    events: new RunEventPublisher(redis, config.REDIS_PREFIX, logger),
    webhooksQueue: createWebhooksQueue(redis, config),
    metrics: setup.metrics ?? new Metrics(),
    counters: new DeploymentCounters(redis, config.REDIS_PREFIX, { flushIntervalMs: 0 }),
    logger,
  });
  return {
    store,
    approvals: { pause: async () => false },
    termination: new TerminationSystem(store, outbox),
    outbox,
    defaultModel: () => readDefaultModel(db),
    registry,
    provider: (providerId) => providers.get(providerId),
    cost: (providerId, model, usage, at) => computeCost(`${providerId}:${model}`, usage, at),
    logger,
    maxDurationSeconds: 60,
    tools: stepToolsOptions(config),
    ...overrides,
  };
}
