import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { HonoAdapter } from '@bull-board/hono';
import { serveStatic } from '@hono/node-server/serve-static';
import type { Queue } from 'bullmq';
import { Hono } from 'hono';
import type { AppEnv } from '../context.ts';

/**
 * bull-board's page as the Content-Security-Policy allows it: without its web fonts from
 * another origin (fonts.googleapis.com; the page falls back to the system fonts) and without
 * the inline styles of its loading placeholder. Its scripts and stylesheet are files already.
 */
export function withoutInlineOrForeignResources(html: string): string {
  return html
    .replace(/<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>\s*/gi, '')
    .replace(/<style\b[^>]*>[\s\S]*?<\/style>\s*/gi, '')
    .replace(/\s+style="[^"]*"/gi, '');
}

/** bull-board for `queues`, served under `basePath`, with retry and clean actions. */
export function queuesDashboard(queues: readonly Queue[], basePath: string): Hono<AppEnv> {
  const serverAdapter = new HonoAdapter(serveStatic).setBasePath(basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: false, allowRetries: true })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Conveyor queues' } },
  });
  const dashboard = new Hono<AppEnv>();
  dashboard.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.get('content-type')?.startsWith('text/html')) return;
    const html = withoutInlineOrForeignResources(await c.res.text());
    const headers = new Headers(c.res.headers);
    headers.delete('content-length');
    c.res = new Response(html, { status: c.res.status, headers });
  });
  dashboard.route('/', serverAdapter.registerPlugin());
  return dashboard;
}
