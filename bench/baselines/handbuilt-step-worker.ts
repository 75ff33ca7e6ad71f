/**
 * Second baseline for the steps benchmark: the worker a user would write without Conveyor — a
 * BullMQ worker with the product worker's concurrency whose job marks its run running in Postgres,
 * then for each of its STEPS steps streams the model's answer with the Anthropic SDK (its defaults;
 * a step's answer is the next one's prompt), appending each text delta to the run's Redis stream for
 * live progress, and stores the answer with its token usage and cost (one UPDATE, which marks the
 * run succeeded after the last step), and appends the end event. No retries, fallbacks, budgets,
 * webhooks, tracing or exact decimals.
 * Env: DATABASE_URL, REDIS_URL, REDIS_PREFIX, ANTHROPIC_BASE_URL, WORKER_CONCURRENCY, JOBS, STEPS (1),
 * WARM_UP, CREATE_TABLE (1; 0 for a second process on the same table).
 * Creates its table with JOBS queued runs (`handbuilt-<i>`, the jobs' ids), warms up on WARM_UP runs
 * of its own (as the product worker is warmed up before it is measured), prints `ready`, then
 * `done <first started ms> <last finished ms>` once it has completed JOBS jobs (alone on the queue).
 */
import Anthropic from '@anthropic-ai/sdk';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import pg from 'pg';

const table = 'bench_handbuilt_steps';
const prefix = `{${process.env.REDIS_PREFIX}}`;
const expected = Number(process.env.JOBS);
const steps = Number(process.env.STEPS ?? 1);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const events = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const client = new Anthropic({ apiKey: 'bench-anthropic-key', baseURL: process.env.ANTHROPIC_BASE_URL, maxRetries: 0 });

if (process.env.CREATE_TABLE !== '0') {
  await pool.query(`DROP TABLE IF EXISTS ${table}`);
  await pool.query(
    `CREATE TABLE ${table} (id text PRIMARY KEY, input text NOT NULL, status text NOT NULL DEFAULT 'queued', steps_done int NOT NULL DEFAULT 0, output text, input_tokens int NOT NULL DEFAULT 0, output_tokens int NOT NULL DEFAULT 0, cost_usd numeric NOT NULL DEFAULT 0, started_at timestamptz, finished_at timestamptz)`,
  );
  await pool.query(`INSERT INTO ${table} (id, input) SELECT 'handbuilt-' || i, 'bench' FROM generate_series(0, $1::int - 1) AS i`, [expected]);
}

let completed = 0;
let firstStartedAt = 0;

async function runSteps(runId: string): Promise<void> {
  const { rows } = await pool.query<{ input: string }>(`UPDATE ${table} SET status = 'running', started_at = now() WHERE id = $1 RETURNING input`, [runId]);
  const stream = `${prefix}:handbuilt-events:${runId}`;
  let prompt = rows[0]!.input;
  for (let step = 1; step <= steps; step++) {
    const answer = await client.messages.create({ model: 'claude-sonnet-4-6', max_tokens: 1024, messages: [{ role: 'user', content: prompt }], stream: true });
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
    await pool.query(
      `UPDATE ${table} SET steps_done = $2::int, output = $3, input_tokens = input_tokens + $4, output_tokens = output_tokens + $5, cost_usd = cost_usd + $6,
              status = CASE WHEN $2::int = $7::int THEN 'succeeded' ELSE status END, finished_at = CASE WHEN $2::int = $7::int THEN now() END WHERE id = $1`,
      [runId, step, text, inputTokens, outputTokens, costUsd, steps],
    );
    prompt = text;
  }
  await events.xadd(stream, 'MAXLEN', '~', 1000, '*', 'type', 'succeeded');
  await events.expire(stream, 3600);
}

const warmUp = Array.from({ length: Number(process.env.WARM_UP ?? 0) }, (_, i) => `handbuilt-warm-${process.pid}-${i}`);
await pool.query(`INSERT INTO ${table} (id, input) SELECT unnest($1::text[]), 'bench'`, [warmUp]);
await Promise.all(warmUp.map(runSteps));

const worker = new Worker('runs', async (job) => {
    firstStartedAt ||= Date.now();
    await runSteps(job.data.runId as string);
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
