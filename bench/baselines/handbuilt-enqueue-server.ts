/**
 * Second baseline for the enqueue benchmark: the route a user would write without Conveyor —
 * Hono on @hono/node-server that checks the pipeline exists, inserts the run into Postgres
 * (one INSERT per request, on a pool of the product's default size) and adds its job to a BullMQ queue.
 * Env: PORT, DATABASE_URL, REDIS_URL, REDIS_PREFIX. Prints `ready` when listening.
 */
import { randomUUID } from 'node:crypto';
import { serve } from '@hono/node-server';
import { Queue } from 'bullmq';
import { Hono } from 'hono';
import { Redis } from 'ioredis';
import pg from 'pg';
import { runJobOptions } from '@conveyor/core';

const table = 'bench_handbuilt_runs';
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const queue = new Queue('runs', { connection, prefix: `{${process.env.REDIS_PREFIX ?? 'bench-handbuilt'}}` });

await pool.query(`DROP TABLE IF EXISTS ${table}`);
await pool.query(`CREATE TABLE ${table} (id text PRIMARY KEY, pipeline_id text NOT NULL, input jsonb NOT NULL, status text NOT NULL DEFAULT 'queued', created_at timestamptz NOT NULL DEFAULT now())`);

const app = new Hono();
app.post('/pipelines/:id/runs', async (c) => {
  const body = await c.req.json();
  const id = randomUUID();
  const { rowCount } = await pool.query(
    `INSERT INTO ${table} (id, pipeline_id, input) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM pipelines WHERE id = $2)`,
    [id, c.req.param('id'), JSON.stringify(body.input)],
  );
  if (rowCount === 0) return c.json({ error: 'pipeline not found' }, 404);
  await queue.add('run', { runId: id }, { ...runJobOptions, jobId: id });
  return c.json({ id, status: 'queued' }, 202);
});

const server = serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' }, () => {
  process.stdout.write('ready\n');
});

process.once('SIGTERM', () => {
  server.close();
  void queue
    .close()
    .then(() => connection.quit())
    .then(() => pool.query(`DROP TABLE IF EXISTS ${table}`))
    .finally(() => pool.end())
    .then(() => process.exit(0));
});
