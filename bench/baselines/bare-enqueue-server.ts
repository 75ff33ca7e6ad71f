/**
 * Baseline for the enqueue benchmark: what a user would write by hand — a bare
 * Hono route on @hono/node-server that only adds a job to a BullMQ queue (with the product's job options).
 * Env: PORT, REDIS_URL, REDIS_PREFIX. Prints `ready` when listening.
 */
import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import { runJobOptions } from '@conveyor/core';

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queue = new Queue('runs', { connection, prefix: `{${process.env.REDIS_PREFIX ?? 'bench-bare'}}` });

const app = new Hono();
app.post('/runs', async (c) => {
  const body = await c.req.json();
  const id = randomUUID();
  await queue.add('run', { runId: id, input: body.input }, { ...runJobOptions, jobId: id });
  return c.json({ id, status: 'queued' }, 202);
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () => {
  process.stdout.write('ready\n');
});

process.once('SIGTERM', () => {
  server.close();
  void queue.close().then(() => connection.quit()).then(() => process.exit(0));
});
