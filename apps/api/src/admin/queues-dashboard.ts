import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';

/** bull-board for `queues`, served under `basePath`, with retry and clean actions. */
export function queuesDashboard(queues: readonly Queue[], basePath: string) {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: false, allowRetries: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Conveyor queues' } },
  });
  return serverAdapter.registerPlugin();
}
