import { createRoute, z } from '@hono/zod-openapi';
import { streamSSE, type SSEStreamingApi } from 'hono/streaming';
import { eventsFromDatabase, terminalEventData, type StoredRun } from '@conveyor/core/events/from-database';
import { isEventId } from '@conveyor/core/events/keys';
import { readRunEvents, RunEventHub } from '@conveyor/core/events/replay';
import { terminalEvents, type RunEvent } from '@conveyor/core/events/types';
import { metrics } from '@conveyor/core/metrics/metrics';
import type { ApiDeps } from '../context.ts';
import { notFound, validationError } from '../errors.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { bearer, createRouter } from './router.ts';

/** One hub (one blocking Redis connection) per API process, shared by every SSE client. */
const hubs = new WeakMap<ApiDeps, RunEventHub>();

function hubOf(deps: ApiDeps): RunEventHub {
  let hub = hubs.get(deps);
  if (!hub) hubs.set(deps, (hub = new RunEventHub(deps.redis, deps.config.REDIS_PREFIX)));
  return hub;
}

/** Closes this process's event hub (server shutdown). */
export async function closeEventHub(deps: ApiDeps): Promise<void> {
  await hubs.get(deps)?.close();
  hubs.delete(deps);
}

const KEEP_ALIVE_MS = 15_000;
/** How long to wait for the terminal event of a run that Postgres already shows ended (the worker writes it right after). */
const TERMINAL_GRACE_MS = 1_000;

const isTerminal = (event: RunEvent) => (terminalEvents as readonly string[]).includes(event.type);

const EventsHeaders = z.object({
  'last-event-id': z
    .string()
    .optional()
    .openapi({ description: 'Resume after this event id (sent automatically by EventSource on reconnect).' }),
});

export const eventsRoutes = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/runs/{id}/events',
    tags: ['Runs'],
    security: bearer,
    summary: 'Follow a run live (Server-Sent Events)',
    description:
      'Sends the run\'s events (`run.started`, `step.started`, `step.delta`, `step.warning`, `step.completed`, `run.succeeded|failed|canceled`), each with an increasing `id:`: first the history, then live, and closes after the terminal event. With `Last-Event-ID`, only the events after that id.',
    request: { params: IdParams, headers: EventsHeaders },
    responses: {
      200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
      ...errorResponses(404),
    },
  }),
  async (c) => {
    const deps = c.var.deps;
    const { id } = c.req.valid('param');
    const lastEventId = c.req.valid('header')['last-event-id']?.trim() || undefined;
    if (lastEventId !== undefined && !isEventId(lastEventId)) {
      throw validationError('Last-Event-ID is not an event id of this API', { lastEventId });
    }
    const exists = await deps.db.run.findUnique({ where: { id }, select: { id: true } });
    if (!exists) throw notFound('run', id);
    return streamSSE(c, (stream) => metrics.whileSseOpen(() => followRun(deps, stream, id, lastEventId))) as never;
  },
);

function loadRun(deps: ApiDeps, id: string): Promise<StoredRun | null> {
  return deps.db.run.findUnique({ where: { id }, include: { steps: true, artifact: { select: { id: true } } } });
}

async function followRun(deps: ApiDeps, stream: SSEStreamingApi, runId: string, lastEventId: string | undefined): Promise<void> {
  const send = (event: RunEvent) => stream.writeSSE({ id: event.id, event: event.type, data: JSON.stringify(event.data) });
  let cursor = lastEventId ?? '0-0';
  let lastSent: RunEvent | undefined;

  const history = await readRunEvents(deps.redis, deps.config.REDIS_PREFIX, runId, lastEventId);
  for (const event of history) {
    await send(event);
    cursor = event.id;
    lastSent = event;
    if (isTerminal(event)) return;
  }

  if (history.length === 0 && lastEventId === undefined) {
    // Nothing in Redis: the run has not started, or it ended long enough ago that its stream expired.
    const run = await loadRun(deps, runId);
    if (run && terminalEventData(run)) {
      const replay = await readRunEvents(deps.redis, deps.config.REDIS_PREFIX, runId);
      for (const event of replay.length > 0 ? replay : eventsFromDatabase(run)) await send(event);
      return;
    }
  }

  const pending: RunEvent[] = [];
  let wake: (() => void) | undefined;
  const unsubscribe = hubOf(deps).subscribe(runId, cursor, (events) => {
    pending.push(...events);
    wake?.();
  });
  stream.onAbort(() => wake?.());
  let endedInDatabaseAt: number | undefined;
  try {
    while (!stream.aborted && !stream.closed) {
      if (pending.length === 0) {
        const waitMs = endedInDatabaseAt === undefined ? KEEP_ALIVE_MS : TERMINAL_GRACE_MS;
        const woken = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), waitMs);
          wake = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        wake = undefined;
        if (woken) continue;
        // Quiet for a while: make sure the run has not ended without its terminal event reaching Redis
        // (canceled while queued, or Redis lost the events), then keep the connection alive.
        const run = await loadRun(deps, runId);
        const terminal = run ? terminalEventData(run) : undefined;
        if (run && terminal) {
          if (endedInDatabaseAt !== undefined) {
            await send({ id: nextId(lastSent?.id ?? cursor), ...terminal } as RunEvent);
            return;
          }
          endedInDatabaseAt = Date.now();
          continue;
        }
        await stream.write(': keep-alive\n\n');
        continue;
      }
      const event = pending.shift()!;
      await send(event);
      lastSent = event;
      if (isTerminal(event)) return;
    }
  } finally {
    unsubscribe();
  }
}

/** The id right after `id`, for a terminal event synthesized after the last real one. */
function nextId(id: string): string {
  const [ms = '0', seq = '0'] = id.split('-');
  return `${ms}-${BigInt(seq) + 1n}`;
}
