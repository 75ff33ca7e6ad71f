import { createRoute, z } from '@hono/zod-openapi';
import { sseFrames } from './sse-frame.ts';
import { sseResponse, type SseStream } from './sse-stream.ts';
import { eventsFromDatabaseAfter, keptEventsAfter, storedRunInclude, terminalEventData, type StoredRun } from '@conveyor/core';
import { isEventId, runEventsKey } from '@conveyor/core';
import { readRunEvents, RunEventHub } from '@conveyor/core';
import { runEndStatuses, terminalEvents, type RunEvent } from '@conveyor/core';
import { metrics } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { notFound, validationError } from '../errors.ts';
import { errorResponses, IdParams } from '../schemas/common.ts';
import { bearer, createRouter } from './router.ts';

/** One hub (one blocking Redis connection) per API process, shared by every SSE client. */
const hubs = new WeakMap<ApiDeps, RunEventHub>();

function hubOf(deps: ApiDeps): RunEventHub {
  let hub = hubs.get(deps);
  if (!hub) hubs.set(deps, (hub = new RunEventHub(deps.redis, deps.config.REDIS_PREFIX, { logger: deps.logger })));
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
      'Sends the run\'s events (`run.started`, `step.started`, `step.delta`, `step.retry` (discard that step\'s deltas so far), `step.warning`, `step.tool_call` (`{index, turn, toolCallId, name, input}`), `step.tool_result` (`{index, turn, toolCallId, output, isError, durationMs}`), `step.completed`, `run.succeeded|failed|canceled`), each with an increasing `id:`: first the history, then live, and closes after the terminal event. With `Last-Event-ID`, only the events after that id.',
    request: { params: IdParams, headers: EventsHeaders },
    responses: {
      200: { description: 'An event stream', content: { 'text/event-stream': { schema: z.string() } } },
      ...errorResponses(404),
    },
  }),
  async (c) => {
    const deps = c.get('deps');
    const { id } = c.req.valid('param');
    const lastEventId = c.req.valid('header')['last-event-id']?.trim() || undefined;
    if (lastEventId !== undefined && !isEventId(lastEventId)) {
      throw validationError('Last-Event-ID is not an event id of this API', { lastEventId });
    }
    if ((await deps.engine.status(id)) === undefined) throw notFound('run', id);
    return (await sseResponse(c, c.get('logger'), (stream, ready) => metrics.whileSseOpen(() => followRun(deps, stream, id, lastEventId, ready)))) as never;
  },
);

function loadRun(deps: ApiDeps, id: string): Promise<StoredRun | null> {
  return deps.db.run.findUnique({ where: { id }, include: storedRunInclude });
}

/**
 * Sends the run's events after `lastEventId`: the history in its Redis stream, then live ones,
 * until the terminal event. Redis keeps a run's stream only a few seconds after it ends
 * (RUN_EVENTS_RETENTION_SECONDS), so whenever the stream is missing, Postgres tells whether the
 * run has ended and supplies what the client still lacks.
 *
 * Live events are written from the hub's callback as they arrive, with no promise or timer per
 * event: a process serves each event to every client of the run, a thousand writes at a time.
 */
async function followRun(deps: ApiDeps, stream: SseStream, runId: string, lastEventId: string | undefined, ready: () => void): Promise<void> {
  const prefix = deps.config.REDIS_PREFIX;
  let lastId = lastEventId ?? '0-0';
  /** The terminal event has been written. */
  let done = false;
  /** The client has more than the stream's high-water mark unread: events wait in `backlog`. */
  let blocked = false;
  const backlog: RunEvent[] = [];
  /** Writes so far: the control loop below tells a quiet stream by it. */
  let writes = 0;
  let wake: (() => void) | undefined;

  /** Writes `events` in order, up to the terminal one, in one write. */
  const send = (events: RunEvent[]): void => {
    if (done || stream.aborted || events.length === 0) return;
    if (blocked) {
      backlog.push(...events);
      return;
    }
    const terminal = events.findIndex(isTerminal);
    const sent = terminal === -1 || terminal === events.length - 1 ? events : events.slice(0, terminal + 1);
    lastId = sent.at(-1)!.id;
    writes++;
    const room = stream.send(sseFrames(sent));
    if (terminal !== -1) {
      done = true;
      wake?.();
    } else if (!room) {
      blocked = true;
      void stream.drained().then(() => {
        blocked = false;
        send(backlog.splice(0));
      });
    }
  };
  const unblocked = async () => {
    // The client reads nothing before it has its answer.
    if (blocked) ready();
    while (blocked && !stream.aborted) await stream.drained();
  };
  /**
   * Whether the run has ended per Postgres; if so, and its stream is gone (or `evenIfStreamExists`),
   * sends what the client lacks up to the terminal event from Postgres. A waiting run's stream may
   * have expired during a long wait: what Postgres kept of it at the pause is sent instead.
   */
  const endFromDatabase = async (options: { evenIfStreamExists: boolean }): Promise<'running' | 'ended' | 'sent'> => {
    // Asked for every client as it connects to a run that has not started streaming: the whole run is read only once it has ended (or waits).
    const status = await deps.engine.status(runId);
    if (status === 'waiting') {
      const run = await loadRun(deps, runId);
      if (run) send(keptEventsAfter(run, lastId));
      return 'running';
    }
    if (status === undefined || !(runEndStatuses as readonly string[]).includes(status)) return 'running';
    const run = await loadRun(deps, runId);
    if (!run || !terminalEventData(run)) return 'running';
    if (!options.evenIfStreamExists && (await deps.redis.exists(runEventsKey(prefix, runId))) === 1) return 'ended';
    await unblocked();
    // Live events may have been written meanwhile: what the client lacks is computed now, from the last one.
    send(eventsFromDatabaseAfter(run, lastId));
    return 'sent';
  };

  const history = await readRunEvents(deps.redis, prefix, runId, lastEventId);
  send(history);
  await unblocked();
  if (done) return;
  const initially = history.length === 0 ? await endFromDatabase({ evenIfStreamExists: false }) : 'running';
  if (initially === 'sent' || done) return;

  let streamGone = false;
  const unsubscribe = hubOf(deps).subscribe(runId, lastId, send, {
    onStreamGone: () => {
      streamGone = true;
      wake?.();
    },
  });
  stream.onAbort(() => wake?.());
  ready();
  let endedInDatabaseAt = initially === 'ended' ? Date.now() : undefined;
  try {
    while (!done && !stream.aborted) {
      if (streamGone) {
        // Expired (or lost) before this client read the terminal event: nothing more will come from Redis.
        streamGone = false;
        if ((await endFromDatabase({ evenIfStreamExists: false })) === 'sent') return;
        continue;
      }
      const writesBefore = writes;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, endedInDatabaseAt === undefined ? KEEP_ALIVE_MS : TERMINAL_GRACE_MS);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
      if (done || stream.aborted || streamGone || writes !== writesBefore) continue;
      // Quiet for a while: make sure the run has not ended without its terminal event reaching Redis
      // (canceled while queued, or Redis lost the events), then keep the connection alive.
      const state = await endFromDatabase({ evenIfStreamExists: endedInDatabaseAt !== undefined });
      if (state === 'sent') return;
      if (state === 'ended') {
        endedInDatabaseAt ??= Date.now();
        continue;
      }
      if (!blocked) stream.send(': keep-alive\n\n');
    }
  } finally {
    unsubscribe();
  }
}
