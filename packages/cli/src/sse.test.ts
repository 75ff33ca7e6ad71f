import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ApiClient } from './client.ts';
import { parseSse, runEvents, type SseMessage } from './sse.ts';

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(encoder.encode(chunk));
      controller.close();
    },
  });
}

async function collect(stream: ReadableStream<Uint8Array>): Promise<SseMessage[]> {
  const messages: SseMessage[] = [];
  for await (const message of parseSse(stream)) messages.push(message);
  return messages;
}

describe('parseSse', () => {
  it('reads events split across chunks at any byte', async () => {
    const messages = await collect(streamOf('id: 1\nevent: step.del', 'ta\ndata: {"index":0,', '"text":"Hi"}\n', '\n'));
    expect(messages).toEqual([{ id: '1', event: 'step.delta', data: '{"index":0,"text":"Hi"}' }]);
  });

  it('joins multi-line data, accepts CRLF and skips comments', async () => {
    const messages = await collect(streamOf(': keep-alive\r\n\r\nevent: note\r\ndata: one\r\ndata: two\r\n\r\n'));
    expect(messages).toEqual([{ id: undefined, event: 'note', data: 'one\ntwo' }]);
  });

  it('keeps the last id for later events and defaults the event name to message', async () => {
    const messages = await collect(streamOf('id: 7\ndata: a\n\ndata: b\n\n'));
    expect(messages.map((m) => [m.id, m.event, m.data])).toEqual([
      ['7', 'message', 'a'],
      ['7', 'message', 'b'],
    ]);
  });

  it('drops an event the stream cut off before its blank line', async () => {
    expect(await collect(streamOf('data: complete\n\ndata: cut'))).toEqual([{ id: undefined, event: 'message', data: 'complete' }]);
  });
});

describe('runEvents', () => {
  it('resumes a dropped stream with Last-Event-ID and stops after the terminal event', async () => {
    const seen: (string | undefined)[] = [];
    const server = createServer((req, res) => {
      seen.push(req.headers['last-event-id'] as string | undefined);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (seen.length === 1) {
        res.end('id: 1\nevent: run.started\ndata: {"runId":"run_1"}\n\nid: 2\nevent: step.delta\ndata: {"index":0,"text":"Hi"}\n\n');
      } else {
        res.end('id: 3\nevent: run.succeeded\ndata: {"runId":"run_1"}\n\nid: 4\nevent: never.read\ndata: {}\n\n');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const client = new ApiClient({ baseUrl: `http://127.0.0.1:${port}`, token: 'token-123456' });
      const events = [];
      for await (const event of runEvents(client, 'run_1')) events.push(event);
      expect(events.map((event) => [event.id, event.type])).toEqual([
        ['1', 'run.started'],
        ['2', 'step.delta'],
        ['3', 'run.succeeded'],
      ]);
      expect(events[1]!.data).toEqual({ index: 0, text: 'Hi' });
      expect(seen).toEqual([undefined, '2']);
    } finally {
      server.close();
    }
  });
});
