import { get, ServerResponse, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { Hono } from 'hono';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@conveyor/core';
import { sseResponse, type SseStream } from './sse-stream.ts';

/** What the route under test does with its stream; each test sets it. */
let serveStream: (stream: SseStream, ready: () => void) => Promise<void> = async () => {};

const app = new Hono();
app.use(async (c, next) => {
  await next();
  c.res.headers.set('x-set-after-the-route', 'yes');
});
app.get('/events', (c) => sseResponse(c, createLogger({ level: 'silent' }), (stream, ready) => serveStream(stream, ready)));

let server: ServerType;
let url: string;
beforeAll(async () => {
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
afterEach(() => vi.restoreAllMocks());

/** A client that collects the body as text and tells when a piece of it has arrived. */
function follow() {
  let text = '';
  const waiting: { piece: string; resolve: () => void }[] = [];
  let response!: IncomingMessage;
  const request = get(url);
  const opened = new Promise<IncomingMessage>((resolve) => request.on('response', (res) => resolve((response = res))));
  const ended = opened.then(
    (res) =>
      new Promise<void>((resolve) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          text += chunk;
          for (const wait of waiting.filter((w) => text.includes(w.piece))) wait.resolve();
        });
        res.on('end', resolve);
      }),
  );
  return {
    opened,
    ended,
    text: () => text,
    received: (piece: string) => new Promise<void>((resolve) => (text.includes(piece) ? resolve() : waiting.push({ piece, resolve }))),
    pause: () => response.pause(),
    resume: () => response.resume(),
    destroy: () => request.destroy(),
  };
}

describe('an event stream served by Node', () => {
  it('writes to the response itself once the server has sent what it held, in order and with every header', async () => {
    const writes = vi.spyOn(ServerResponse.prototype, 'write');
    let client!: ReturnType<typeof follow>;
    serveStream = async (stream, ready) => {
      stream.send('data: history\n\n');
      ready();
      await client.received('history');
      stream.send('data: live\n\n');
      await client.received('live');
    };
    client = follow();
    const response = await client.opened;
    await client.ended;

    expect(client.text()).toBe('data: history\n\ndata: live\n\n');
    expect(response.headers['content-type']).toBe('text/event-stream');
    expect(response.headers['x-set-after-the-route']).toBe('yes');
    // The body's web stream hands the server bytes; a string reaches the response only when written to it directly.
    const written = writes.mock.calls.map(([chunk]) => chunk);
    expect(written).toContain('data: live\n\n');
    expect(written).not.toContain('data: history\n\n');
  });

  it('waits for a client that reads slowly, then goes on where it stopped', async () => {
    const piece = `data: ${'x'.repeat(16 * 1024)}\n\n`;
    let client!: ReturnType<typeof follow>;
    let sentBeforeFull = 0;
    serveStream = async (stream, ready) => {
      stream.send('data: first\n\n');
      ready();
      await client.received('first');
      client.pause();
      while (stream.send(piece)) sentBeforeFull++;
      const drained = stream.drained();
      client.resume();
      await drained;
      stream.send('data: last\n\n');
    };
    client = follow();
    await client.ended;

    expect(sentBeforeFull).toBeLessThan(1000);
    expect(client.text()).toBe(`data: first\n\n${piece.repeat(sentBeforeFull + 1)}data: last\n\n`);
  });

  it('tells the route when the client goes away', async () => {
    let client!: ReturnType<typeof follow>;
    let reportGone!: (aborted: boolean) => void;
    const gone = new Promise<boolean>((resolve) => (reportGone = resolve));
    serveStream = async (stream, ready) => {
      stream.send('data: hello\n\n');
      ready();
      await client.received('hello');
      stream.onAbort(() => reportGone(stream.aborted));
      stream.send('data: direct\n\n');
      await client.received('direct');
      client.destroy();
      await gone;
    };
    client = follow();
    await client.opened;

    expect(await gone).toBe(true);
  });
});
