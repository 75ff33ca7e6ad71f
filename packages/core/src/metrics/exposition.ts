import type { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import type { RedisConnection } from '../queue/connection.ts';
import { clusterCountersRegistry } from './cluster-counters.ts';
import { metrics } from './metrics.ts';
import { queueDepthRegistry } from './queue-depth.ts';

export interface Exposition {
  contentType: string;
  /** The Prometheus text of one scrape. */
  render(): Promise<string>;
}

/**
 * What one process serves on its metrics endpoint: its own metrics, plus (the API) the depth of
 * `queues` and the deployment's run, step, token and cost counters.
 */
export function exposition(queues: readonly Queue[] = [], deployment?: { redis: RedisConnection; prefix: string }): Exposition {
  const registries = [metrics.registry];
  if (queues.length > 0) registries.push(queueDepthRegistry(queues));
  if (deployment) registries.push(clusterCountersRegistry(deployment.redis, deployment.prefix));
  const registry = registries.length > 1 ? Registry.merge(registries) : metrics.registry;
  return { contentType: registry.contentType, render: () => registry.metrics() };
}
