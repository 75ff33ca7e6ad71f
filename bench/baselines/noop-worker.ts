/**
 * Baseline for the steps benchmark: a bare BullMQ worker whose jobs do nothing,
 * with the product worker's concurrency. Env: REDIS_URL, REDIS_PREFIX,
 * WORKER_CONCURRENCY, JOBS. Prints `ready`, then `done <first started ms> <last finished ms>`
 * once it has completed JOBS jobs.
 */
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const expected = Number(process.env.JOBS);
let completed = 0;
let firstStartedAt = 0;

const worker = new Worker(
  'runs',
  async () => {
    firstStartedAt ||= Date.now();
  },
  { connection, prefix: `{${process.env.REDIS_PREFIX}}`, concurrency: Number(process.env.WORKER_CONCURRENCY) },
);
worker.on('completed', () => {
  completed += 1;
  if (completed === expected) process.stdout.write(`done ${firstStartedAt} ${Date.now()}\n`);
});
await worker.waitUntilReady();
process.stdout.write('ready\n');

process.once('SIGTERM', () => {
  void worker.close().then(() => connection.quit()).then(() => process.exit(0));
});
