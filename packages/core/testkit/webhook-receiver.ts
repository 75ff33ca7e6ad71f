import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Database, RunStatus } from '../src/db/client.ts';
import { newId } from '../src/ids.ts';

export interface ReceivedWebhook {
  headers: Record<string, string>;
  body: string;
}

/** What the receiver does with one request: answer with a status, or never answer. */
export type ReceiverReply = number | 'hang';

/** A webhook receiver on 127.0.0.1 for tests: answers with scripted replies (then 200) and records every request. */
export interface TestReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** TCP connections accepted, to prove a refused delivery never connected. */
  connections: number;
  reply(...replies: ReceiverReply[]): void;
  close(): Promise<void>;
}

export async function startTestReceiver(): Promise<TestReceiver> {
  const scripted: ReceiverReply[] = [];
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      receiver.received.push({ headers: request.headers as Record<string, string>, body: Buffer.concat(chunks).toString('utf8') });
      const reply = scripted.shift() ?? 200;
      if (reply !== 'hang') response.writeHead(reply).end();
    });
  });
  server.on('connection', () => receiver.connections++);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const receiver: TestReceiver = {
    url: `http://127.0.0.1:${port}/hooks/conveyor`,
    received: [],
    connections: 0,
    reply: (...replies) => scripted.push(...replies),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return receiver;
}

/** A port on 127.0.0.1 that nothing listens on. */
export async function closedPort(): Promise<number> {
  const server = http.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface EndedRunOptions {
  webhookUrl?: string | null;
  pipelineWebhookUrl?: string | null;
  status?: Extract<RunStatus, 'succeeded' | 'failed' | 'canceled'>;
  /** Defaults to ten minutes ago. */
  finishedAt?: Date;
  /**
   * The run's outbox row: `none` (default) nothing owed, `pending` as if the process that
   * ended it died before its effects, `effects-done` as if its webhook job was then lost.
   */
  outbox?: 'pending' | 'effects-done' | 'none';
}

/** A pipeline and one run that has already ended, written straight to Postgres (nothing enqueued). */
export async function createEndedRun(db: Database, options: EndedRunOptions = {}): Promise<{ runId: string; pipelineId: string }> {
  const pipelineId = newId('pip');
  const runId = newId('run');
  const status = options.status ?? 'succeeded';
  const finishedAt = options.finishedAt ?? new Date(Date.now() - 10 * 60_000);
  const createdAt = new Date(finishedAt.getTime() - 5000);
  await db.pipeline.create({ data: { id: pipelineId, name: 'webhook test', webhookUrl: options.pipelineWebhookUrl ?? null } });
  await db.run.create({
    data: {
      id: runId,
      pipelineId,
      status,
      input: { topic: 'webhooks' },
      ...(status === 'succeeded' ? { output: { text: 'done' } } : {}),
      ...(status === 'failed' ? { error: { code: 'provider_error', message: 'model refused', step: 0 } } : {}),
      webhookUrl: options.webhookUrl ?? null,
      inputTokens: 12,
      outputTokens: 34,
      createdAt,
      startedAt: createdAt,
      finishedAt,
    },
  });
  const outbox = options.outbox ?? 'none';
  if (outbox !== 'none') {
    await db.runOutbox.create({
      data: {
        runId,
        event: `run.${status}`,
        webhookUrl: options.webhookUrl ?? options.pipelineWebhookUrl ?? null,
        createdAt: finishedAt,
        effectsDoneAt: outbox === 'effects-done' ? finishedAt : null,
      },
    });
  }
  return { runId, pipelineId };
}

export async function deleteRuns(db: Database, ids: Array<{ runId: string; pipelineId: string }>): Promise<void> {
  await db.run.deleteMany({ where: { id: { in: ids.map((r) => r.runId) } } });
  await db.pipeline.deleteMany({ where: { id: { in: ids.map((r) => r.pipelineId) } } });
}
