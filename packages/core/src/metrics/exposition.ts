import type { Queue } from 'bullmq';
import { Registry } from 'prom-client';
import { metrics } from './metrics.ts';
import { queueDepthRegistry } from './queue-depth.ts';

export interface Exposition {
  contentType: string;
  /** The Prometheus text of one scrape. */
  render(): Promise<string>;
}

/** What one process serves on its metrics endpoint: its own metrics, plus the depth of `queues` if given. */
export function exposition(queues: readonly Queue[] = []): Exposition {
  const registry = queues.length > 0 ? Registry.merge([metrics.registry, queueDepthRegistry(queues)]) : metrics.registry;
  return { contentType: registry.contentType, render: () => registry.metrics() };
}
