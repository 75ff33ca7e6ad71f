/**
 * Second baseline for the steps benchmark: the worker a user would write without Conveyor — a
 * BullMQ worker with the product worker's concurrency whose job marks its run running in Postgres,
 * streams the model's answer with the Anthropic SDK (its defaults), appending each text delta to
 * the run's Redis stream for live progress, then stores the answer with its token usage and cost
 * and marks the run succeeded (one UPDATE), and appends the end event. No retries, fallbacks,
 * budgets, webhooks, tracing or exact decimals.
 * Env: DATABASE_URL, REDIS_URL, REDIS_PREFIX, ANTHROPIC_BASE_URL, WORKER_CONCURRENCY, JOBS, WARM_UP.
 * Creates its table with JOBS queued runs (`handbuilt-<i>`, the jobs' ids), warms up on WARM_UP runs
 * of its own (as the product worker is warmed up before it is measured), prints `ready`, then
 * `done <first started ms> <last finished ms>` once it has completed JOBS jobs.
 */
import Anthropic from '@anthropic-ai/sdk';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

const table = 'bench_handbuilt_steps';
const prefix = `{${process.env.REDIS_PREFIX}}`;
const expected = Number(process.env.JOBS);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const events = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const client = new Anthropic({ apiKey: 'bench-anthropic-key', baseURL: process.env.ANTHROPIC_BASE_URL, maxRetries: 0 });

await pool.query(`DROP TABLE IF EXISTS ${table}`);
await pool.query(
  `CREATE TABLE ${table} (id text PRIMARY KEY, input text NOT NULL, status text NOT NULL DEFAULT 'queued', output text, input_tokens int, output_tokens int, cost_usd numeric, started_at timestamptz, finished_at timestamptz)`,
);
await pool.query(`INSERT INTO ${table} (id, input) SELECT 'handbuilt-' || i, 'bench' FROM generate_series(0, $1::int - 1) AS i`, [expected]);

let completed = 0;
let firstStartedAt = 0;

async function runStep(runId: string): Promise<void> {
  const { rows } = await pool.query<{ input: string }>(`UPDATE ${table} SET status = 'running', started_at = now() WHERE id = $1 RETURNING input`, [runId]);
  const stream = `${prefix}:handbuilt-events:${runId}`;
  const answer = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user', content: rows[0]!.input }], stream: true });
  let text = '';
  let inputTokens = 0;
  let outputTokens = 0;
  for await (const event of answer) {
    if (event.type === 'message_start') inputTokens = event.message.usage.input_tokens;
    else if (event.type === 'message_delta') outputTokens = event.usage.output_tokens;
    else if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') {
      text += event.delta.text;
      void events.xadd(stream, 'MAXLEN', '~', 1000, '*', 'type', 'delta', 'text', event.delta.text);
    }
  }
  const costUsd = (inputTokens * 3 + outputTokens * 15) / 1_000_000;
  await pool.query(`UPDATE ${table} SET status = 'succeeded', output = $2, input_tokens = $3, output_tokens = $4, cost_usd = $5, finished_at = now() WHERE id = $1`, [runId, text, inputTokens, outputTokens, costUsd]);
  await events.xadd(stream, 'MAXLEN', '~', 1000, '*', 'type', 'succeeded');
  await events.expire(stream, 3600);
}

const warmUp = Array.from({ length: Number(process.env.WARM_UP ?? 0) }, (_, i) => `handbuilt-warm-${i}`);
await pool.query(`INSERT INTO ${table} (id, input) SELECT unnest($1::text[]), 'bench'`, [warmUp]);
await Promise.all(warmUp.map(runStep));

const worker = new Worker('runs', async (job) => {
    firstStartedAt ||= Date.now();
    await runStep(job.data.runId as string);
  }, { connection, prefix, concurrency: Number(process.env.WORKER_CONCURRENCY) });
worker.on('completed', () => {
  completed += 1;
  if (completed === expected) process.stdout.write(`done ${firstStartedAt} ${Date.now()}\n`);
});
worker.on('failed', (job, error) => {
  process.stderr.write(`job ${job?.id} failed: ${error.message}\n`);
});
await worker.waitUntilReady();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void worker
    .close()
    .then(() => Promise.all([connection.quit(), events.quit()]))
    .then(() => pool.query(`DROP TABLE IF EXISTS ${table}`))
    .finally(() => pool.end())
    .then(() => process.exit(0));
});
