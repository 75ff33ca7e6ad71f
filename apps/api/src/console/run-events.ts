import { isEventId } from '@conveyor/core';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../context.ts';
import { onError } from '../middleware/errors.ts';
import { eventsRoutes } from '../routes/events.ts';
import { getRun } from '../services/runs.ts';
import type { ConsoleEnv } from './env.ts';
import { notFoundOr } from './pages/errors.tsx';

/**
 * The API's own event stream route, reachable without a bearer token: the console hands it
 * the request's dependencies directly. The console's session guard stands in front of it.
 */
const apiEventStream = new Hono<{ Bindings: AppEnv['Variables']; Variables: AppEnv['Variables'] }>();
apiEventStream.use(async (c, next) => {
  c.set('deps', c.env.deps);
  c.set('logger', c.env.logger);
  c.set('requestId', c.env.requestId);
  await next();
});
apiEventStream.onError((error, c) => onError(error, c as never));
apiEventStream.route('/', eventsRoutes as unknown as Hono<{ Variables: AppEnv['Variables'] }>);

/**
 * `GET /runs/:id/events` for the console's live run view: exactly the events of
 * `GET /v1/runs/:id/events` (history, then live, closed after the terminal event; the same
 * code serves both), authorised by the console session instead of a bearer token.
 */
export async function consoleRunEvents(c: Context<ConsoleEnv>) {
  const runId = c.req.param('id')!;
  const run = await getRun(c.get('deps'), runId).catch(notFoundOr);
  if (!run) return c.text('run not found', 404);
  const headers = new Headers({ accept: 'text/event-stream' });
  const lastEventId = c.req.header('last-event-id')?.trim();
  if (lastEventId && isEventId(lastEventId)) headers.set('last-event-id', lastEventId);
  const request = new Request(new URL(`/runs/${encodeURIComponent(runId)}/events`, c.req.url), { headers, signal: c.req.raw.signal });
  return apiEventStream.fetch(request, { deps: c.get('deps'), logger: c.get('logger'), requestId: c.get('requestId') });
}
