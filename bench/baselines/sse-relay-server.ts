/**
 * Baseline for the sse and sse-fanout benchmarks: what a user would write by hand to relay a
 * run's events to browsers: a bare `node:http` server that, for each run some client follows,
 * keeps one blocking `XREAD` on the run's Redis stream and writes every entry to that run's
 * clients as a Server-Sent Event, ending their responses after the run's terminal event. No
 * authorisation, history, heartbeats, limits or reconnection.
 * Env: PORT, REDIS_URL, REDIS_PREFIX (the product's, whose run streams it reads). Prints `ready` when listening.
 */
import { createServer, type ServerResponse } from 'node:http';
import { createRedis, runEventsKey, terminalEvents } from '@conveyor/core';

const prefix = process.env.REDIS_PREFIX ?? 'conveyor';
const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const terminal = new Set<string>(terminalEvents);
const clientsByRun = new Map<string, Set<ServerResponse>>();

async function relay(runId: string, clients: Set<ServerResponse>): Promise<void> {
  const redis = createRedis(redisUrl);
  const key = runEventsKey(prefix, runId);
  let cursor = '0';
  try {
    for (;;) {
      const answer = (await redis.xread('BLOCK', 0, 'STREAMS', key, cursor)) as [string, [string, string[]][]][] | null;
      for (const [id, fields] of answer?.[0]?.[1] ?? []) {
        cursor = id;
        const type = fields[fields.indexOf('type') + 1]!;
        const frame = `id: ${id}\nevent: ${type}\ndata: ${fields[fields.indexOf('data') + 1]}\n\n`;
        for (const client of clients) client.write(frame);
        if (terminal.has(type)) {
          for (const client of clients) client.end();
          clientsByRun.delete(runId);
          return;
        }
      }
    }
  } finally {
    await redis.quit();
  }
}

const server = createServer((req, res) => {
  const runId = /^\/runs\/([^/]+)\/events$/.exec(req.url ?? '')?.[1];
  if (!runId) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' }).flushHeaders();
  let clients = clientsByRun.get(runId);
  if (!clients) {
    clientsByRun.set(runId, (clients = new Set()));
    void relay(runId, clients);
  }
  clients.add(res);
  res.on('close', () => clients.delete(res));
});

server.listen(Number(process.env.PORT), '127.0.0.1', () => process.stdout.write('ready\n'));
process.once('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
