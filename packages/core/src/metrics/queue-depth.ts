import type { Queue } from 'bullmq';
import { Gauge, Registry } from 'prom-client';

export const queueStates = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;

/**
 * A registry with one gauge, `conveyor_queue_jobs{queue,state}`, read from BullMQ at scrape
 * time (so it is exact whichever process moved the jobs). Merge it with `metrics.registry`.
 */
export function queueDepthRegistry(queues: readonly Queue[]): Registry {
  const registry = new Registry();
  new Gauge({
    name: 'conveyor_queue_jobs',
    help: 'Jobs in each BullMQ queue by state, read from Redis at scrape time.',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const counts = await Promise.all(queues.map((queue) => queue.getJobCounts(...queueStates)));
      queues.forEach((queue, index) => {
        for (const state of queueStates) this.set({ queue: queue.name, state }, counts[index]![state] ?? 0);
      });
    },
  });
  return registry;
}
