import type { ServerResponse } from 'node:http';
import type { Context } from 'hono';
import type { HttpBindings } from '@hono/node-server';
import type { Logger } from '@conveyor/core';

/** The side of a Server-Sent Events response a route writes to. */
export interface SseStream {
  /** Queues `chunk`; false when the client now has more than the high-water mark unread (then wait for `drained`). */
  send(chunk: Uint8Array | string): boolean;
  /** Resolves once the client has read below the high-water mark again (or went away). */
  drained(): Promise<void>;
  /** The client went away (or the response was cancelled). */
  readonly aborted: boolean;
  onAbort(listener: () => void): void;
}

/** Bytes a client may have unread before `send` answers false (wait for `drained`). */
const HIGH_WATER_MARK = 64 * 1024;
const encoder = new TextEncoder();

/**
 * A `text/event-stream` response fed straight from `serve`, answered once `serve` calls `ready`
 * (or ends): each write is enqueued on the response body itself. Hono's `streamSSE` routes every
 * write through a TransformStream and a second ReadableStream, three stream hops per write; with
 * a thousand clients each receiving every event of a run, those hops were a third of an API
 * process's time.
 *
 * Served by @hono/node-server, the stream then writes to Node's response directly, once the
 * server has sent the head (with every middleware's headers) and written all the body held so far:
 * the body's web stream (a read request, a promise and the server's write per chunk) was a fifth
 * of an API process's time with a thousand clients. The body stays open, unread, until the end,
 * and closing it ends the response as before.
 */
export async function sseResponse(c: Context, logger: Logger, serve: (stream: SseStream, ready: () => void) => Promise<void>): Promise<Response> {
  const abortListeners: (() => void)[] = [];
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  let drained: { promise: Promise<void>; resolve: () => void } | undefined;
  const release = () => {
    drained?.resolve();
    drained = undefined;
  };
  const state = { aborted: false, closed: false };
  const outgoing = (c.env as Partial<HttpBindings> | undefined)?.outgoing;
  /** Writing to `outgoing` itself (see `writeDirectlyOnceCaughtUp`). */
  let direct = false;
  const abort = () => {
    if (state.aborted) return;
    state.aborted = true;
    release();
    for (const listener of abortListeners.splice(0)) listener();
  };
  const body = new ReadableStream<Uint8Array>(
    {
      start: (ready) => {
        controller = ready;
      },
      pull: () => {
        release();
        if (outgoing && !direct) setImmediate(writeDirectlyOnceCaughtUp);
      },
      cancel: abort,
    },
    { highWaterMark: HIGH_WATER_MARK, size: (chunk) => chunk.byteLength },
  );
  /**
   * The server asks for the body when it has written all it read: from a later turn (every write
   * of a chunk it read is done by then), with the head sent and nothing queued, a write to the
   * response comes after everything sent before it.
   */
  const writeDirectlyOnceCaughtUp = () => {
    if (direct || !outgoing || state.aborted || state.closed) return;
    if (outgoing.headersSent && !outgoing.writableEnded && controller.desiredSize === HIGH_WATER_MARK) direct = true;
  };
  const stream: SseStream = {
    send(chunk) {
      if (state.aborted || state.closed) return false;
      if (direct) return !outgoing!.destroyed && outgoing!.write(chunk);
      controller.enqueue(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      return (controller.desiredSize ?? 1) > 0;
    },
    drained() {
      if (direct) return drainedResponse(outgoing!, state);
      if (state.aborted || state.closed || (controller.desiredSize ?? 1) > 0) return Promise.resolve();
      if (!drained) {
        let resolve!: () => void;
        const promise = new Promise<void>((settle) => (resolve = settle));
        drained = { promise, resolve };
      }
      return drained.promise;
    },
    get aborted() {
      return state.aborted;
    },
    onAbort(listener) {
      if (state.aborted) listener();
      else abortListeners.push(listener);
    },
  };
  let ready!: () => void;
  const isReady = new Promise<void>((resolve) => (ready = resolve));
  void serve(stream, ready)
    .catch((error: unknown) => logger.error({ err: error }, 'an event stream failed'))
    .finally(() => {
      ready();
      if (state.closed) return;
      state.closed = true;
      if (!state.aborted) closeSoon(controller);
    });
  c.header('Content-Type', 'text/event-stream');
  c.header('Cache-Control', 'no-cache');
  c.header('Connection', 'keep-alive');
  c.header('Transfer-Encoding', 'chunked');
  // The answer (and its headers) goes once `serve` is following the run: a client that has its
  // headers is subscribed, and what it was sent so far is already queued on the body.
  await isReady;
  return c.newResponse(body);
}

/** Resolves once `response` has written out what it buffered past its high-water mark (or went away). */
function drainedResponse(response: ServerResponse, state: { aborted: boolean; closed: boolean }): Promise<void> {
  if (state.aborted || state.closed || !response.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => {
    const settle = () => {
      response.off('drain', settle);
      response.off('close', settle);
      resolve();
    };
    response.once('drain', settle);
    response.once('close', settle);
  });
}

/** Streams closed per turn of the event loop. */
const CLOSES_PER_TURN = 25;
const closing: ReadableStreamDefaultController<Uint8Array>[] = [];

/**
 * Closes a finished stream in a later turn of the event loop, a few at a time. When a run
 * ends, every client following it in this process finishes in the same tick; ending hundreds
 * of responses at once held up, by tens of milliseconds, the events of other runs that had
 * already arrived from Redis. In small groups, I/O is read in between.
 */
function closeSoon(controller: ReadableStreamDefaultController<Uint8Array>): void {
  closing.push(controller);
  if (closing.length === 1) setImmediate(closeSome);
}

function closeSome(): void {
  for (const controller of closing.splice(0, CLOSES_PER_TURN)) {
    try {
      controller.close();
    } catch {
      // The client went away meanwhile: its stream is cancelled already.
    }
  }
  if (closing.length > 0) setImmediate(closeSome);
}
