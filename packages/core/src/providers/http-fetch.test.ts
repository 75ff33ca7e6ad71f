import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpFetch } from './http-fetch.ts';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

describe('httpFetch (the provider SDKs’ fetch)', () => {
  let server: Server;
  let base: string;
  const seen: { method?: string; headers?: IncomingMessage['headers']; body?: string } = {};
  const manyChunks = 64;
  const manyWritten = deferred();
  const endlessClosed = deferred();
  const burstReleased = deferred();
  const burstEvents = ['one', 'two', 'three', 'four', 'five'].map((word) => `data: ${word}\n\n`);

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        Object.assign(seen, { method: req.method, headers: req.headers, body: Buffer.concat(chunks).toString() });
        if (req.url === '/empty') return res.writeHead(204, { 'x-request-id': 'r-1' }).end();
        if (req.url === '/many') {
          res.writeHead(200, { 'content-type': 'text/plain' });
          let sent = 0;
          const writeNext = () => {
            if (sent === manyChunks) return res.end(() => manyWritten.resolve());
            res.write(`${String(sent++).padStart(4, '0')}${'.'.repeat(508)}`);
            setImmediate(writeNext);
          };
          return writeNext();
        }
        if (req.url === '/endless') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          const timer = setInterval(() => res.write('data: more\n\n'), 5);
          res.on('close', () => {
            clearInterval(timer);
            endlessClosed.resolve();
          });
          return;
        }
        if (req.url === '/burst') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.flushHeaders();
          // Written in one tick: Node sends them in one write, and they arrive in one read.
          void burstReleased.promise.then(() => {
            for (const event of burstEvents) res.write(event);
            res.end();
          });
          return;
        }
        if (req.url === '/stalls') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: one\n\n');
          return;
        }
        if (req.url === '/stream') {
          res.writeHead(200, { 'content-type': 'text/event-stream' });
          res.write('data: one\n\n');
          setTimeout(() => res.end('data: two\n\n'), 20);
          return;
        }
        res.writeHead(429, [
          ['content-type', 'application/json'],
          ['retry-after', '2'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ]);
        res.end(JSON.stringify({ error: { type: 'rate_limit_error' } }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('sends method, headers and body, and answers with status, every header value and the body', async () => {
    const response = await httpFetch(`${base}/limited`, {
      method: 'post',
      headers: { 'content-type': 'application/json', 'x-api-key': 'k' },
      body: '{"model":"m"}',
    });
    expect(seen).toMatchObject({ method: 'POST', body: '{"model":"m"}', headers: { 'content-type': 'application/json', 'x-api-key': 'k' } });
    expect(response.status).toBe(429);
    expect(response.url).toBe(`${base}/limited`);
    expect(response.headers.get('retry-after')).toBe('2');
    expect(response.headers.getSetCookie()).toEqual(['a=1', 'b=2']);
    expect(await response.json()).toEqual({ error: { type: 'rate_limit_error' } });
  });

  it('gives a 204 no body instead of failing to build the Response', async () => {
    const response = await httpFetch(new URL(`${base}/empty`));
    expect(response.status).toBe(204);
    expect(response.body).toBeNull();
    expect(response.headers.get('x-request-id')).toBe('r-1');
  });

  it('streams the body as it arrives', async () => {
    const response = await httpFetch(`${base}/stream`);
    const reader = response.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toBe('data: one\n\n');
    let rest = '';
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read()) rest += new TextDecoder().decode(chunk.value);
    expect(rest).toBe('data: two\n\n');
  });

  it('gives every chunk, in order, to a reader that falls behind the socket', async () => {
    // Small enough to sit in the kernel's buffers whether or not the socket is paused, so the server finishes writing.
    const response = await httpFetch(`${base}/many`);
    const chunks = response.body![Symbol.asyncIterator]();
    const first = await chunks.next();
    await manyWritten.promise;
    let text = new TextDecoder().decode(first.value);
    for (let chunk = await chunks.next(); !chunk.done; chunk = await chunks.next()) text += new TextDecoder().decode(chunk.value);
    expect(text.length).toBe(manyChunks * 512);
    for (let index = 0; index < manyChunks; index++) expect(text.slice(index * 512, index * 512 + 4)).toBe(String(index).padStart(4, '0'));
  });

  it('hands the events of one socket read to a waiting reader as one chunk, then ends', async () => {
    const response = await httpFetch(`${base}/burst`);
    const chunks = response.body![Symbol.asyncIterator]();
    const first = chunks.next();
    burstReleased.resolve();
    expect(new TextDecoder().decode((await first).value)).toBe(burstEvents.join(''));
    expect(await chunks.next()).toEqual({ value: undefined, done: true });
  });

  it('ends the exchange when the reader stops early', async () => {
    const response = await httpFetch(`${base}/endless`);
    for await (const chunk of response.body!) {
      expect(new TextDecoder().decode(chunk)).toContain('data: more');
      break;
    }
    await endlessClosed.promise;
  });

  it('rejects a read in progress when the signal aborts mid-body', async () => {
    const controller = new AbortController();
    const response = await httpFetch(`${base}/stalls`, { signal: controller.signal });
    const chunks = response.body![Symbol.asyncIterator]();
    expect(new TextDecoder().decode((await chunks.next()).value)).toBe('data: one\n\n');
    const waiting = chunks.next();
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects a refused connection', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(httpFetch(`http://127.0.0.1:${port}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('rejects when the signal aborts, with an AbortError as fetch does', async () => {
    const controller = new AbortController();
    const pending = httpFetch(`${base}/stream`, { signal: controller.signal }).then((response) => response.text());
    setTimeout(() => controller.abort(), 5);
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });
});
