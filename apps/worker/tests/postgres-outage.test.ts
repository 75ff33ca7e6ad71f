import { Writable } from 'node:stream';
import { createDatabase, createLogger, createRedis, createRunsQueue, enqueueRun } from '@conveyor/core';
import { testConfig, testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkerProcess, type WorkerProcess } from '../src/worker-process.ts';
import { createPipeline, createRun, deleteKeys, waitFor, waitForRunStatus, workerEnv } from './harness.ts';

/** Postgres goes away while a provider call is in flight, and comes back. */
describe('a Postgres outage during a run', () => {
  const databaseName = decodeURIComponent(new URL(process.env.DATABASE_URL!).pathname.slice(1));
  const admin = new URL(process.env.DATABASE_URL!);
  admin.pathname = '/postgres';
  const db = createDatabase(process.env.DATABASE_URL!, { max: 2 });
  const redis = createRedis(process.env.REDIS_URL!);
  const prefix = testPrefix('outage');
  let emulator: Emulator;
  let worker: WorkerProcess | undefined;
  let logs = '';
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  async function onAdmin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: admin.toString() });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  }
  const quoted = `"${databaseName.replaceAll('"', '""')}"`;
  const stopPostgres = async () => {
    await onAdmin(`ALTER DATABASE ${quoted} ALLOW_CONNECTIONS false`);
    await onAdmin(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '${databaseName}' AND pid <> pg_backend_pid()`);
  };
  const startPostgres = () => onAdmin(`ALTER DATABASE ${quoted} ALLOW_CONNECTIONS true`);

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    emulator = await startEmulator();
    const logger = createLogger({ level: 'warn', destination: new Writable({ write: (chunk, _e, done) => ((logs += String(chunk)), done()) }) });
    worker = await startWorkerProcess(testConfig({ ...workerEnv(prefix, emulator), DATABASE_POOL_SIZE: '3' }), logger);
  });

  afterAll(async () => {
    await startPostgres();
    await worker?.close(1000);
    await deleteKeys(redis, prefix);
    redis.disconnect();
    await db.$disconnect();
    await emulator?.close();
    process.off('unhandledRejection', onUnhandled);
  });

  it('keeps the answer that arrived, writes it once Postgres is back, and neither re-requests it nor counts a failed attempt', async () => {
    const fixture = await createPipeline(db, [{ model: 'claude-haiku-4-5' }, { model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'through an outage');
    emulator.script({ provider: 'anthropic', latencyMs: 1500 });
    await enqueueRun(createRunsQueue(redis, prefix), { runId });
    await waitFor(async () => emulator.requests.length === 1, 20_000, 'the first call in flight');

    await stopPostgres();
    // The cancel subscriber reconnects and asks Postgres about its runs: a failure must be handled, not thrown away.
    await redis.call('CLIENT', 'KILL', 'TYPE', 'pubsub');
    await waitFor(async () => logs.includes('Postgres unavailable: keeping the answer'), 20_000, 'the answer held while Postgres is away');
    await waitFor(async () => logs.includes('could not re-check cancel requests'), 20_000, 'the cancel re-check failing quietly');
    await startPostgres();

    const run = await waitForRunStatus(db, runId, ['succeeded'], 30_000);
    expect(emulator.requests.map((request) => request.provider)).toEqual(['anthropic', 'openai']);
    // Waiting Postgres out may put the run off (a delayed job), but never counts as a failed attempt.
    expect(logs).not.toContain('it will be retried');
    expect(run.status).toBe('succeeded');
    expect(await db.artifact.count({ where: { runId } })).toBe(1);
    expect(unhandled).toEqual([]);
  }, 90_000);
});
