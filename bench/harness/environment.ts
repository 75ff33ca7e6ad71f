import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { emptyTables } from '../../scripts/empty-tables.ts';

const run = promisify(execFile);

export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Where benchmarks keep their data. Never a developer's: a database of its own
 * (default `conveyor_bench`) and Redis keys under a prefix of their own.
 */
export interface BenchEnvironment {
  databaseUrl: string;
  redisUrl: string;
  /** Every Redis prefix a benchmark uses starts with this. */
  prefixBase: string;
  apiToken: string;
  encryptionKey: string;
  /** Keep each benchmark's runs in the database afterwards (BENCH_KEEP_RUNS), to look into them. */
  keepRuns: boolean;
}

export function benchEnvironment(env: NodeJS.ProcessEnv = process.env): BenchEnvironment {
  return {
    databaseUrl: env.BENCH_DATABASE_URL || 'postgresql://postgres:postgres@127.0.0.1:5432/conveyor_bench',
    redisUrl: env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
    prefixBase: env.BENCH_REDIS_PREFIX || 'bench',
    apiToken: `bench-${randomBytes(12).toString('hex')}`,
    encryptionKey: randomBytes(32).toString('hex'),
    keepRuns: Boolean(env.BENCH_KEEP_RUNS),
  };
}

/**
 * Makes Redis and Postgres reachable (the services script), creates and migrates the bench
 * database, and empties its tables: what an earlier invocation left (rows, and dead tuples
 * where autovacuum is off) never weighs on this one's figures.
 */
export async function prepareServices(env: BenchEnvironment): Promise<void> {
  await run('bash', ['scripts/services.sh'], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: env.databaseUrl, REDIS_URL: env.redisUrl } });
  await migrateDatabase(env.databaseUrl);
  await withClient(env.databaseUrl, emptyTables);
}

/** Runs `work` on a connection of its own to `databaseUrl`, closed afterwards. */
async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Creates the database if it does not exist and applies the migrations (`npm run db:migrate`). */
export async function migrateDatabase(databaseUrl: string): Promise<void> {
  await run(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], { cwd: repoRoot, env: { ...process.env, DATABASE_URL: databaseUrl } });
}

/** Drops the database if it exists (it must be the benchmarks' own), then creates and migrates it. */
export async function recreateDatabase(databaseUrl: string): Promise<void> {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
  const admin = new URL(databaseUrl);
  admin.pathname = '/postgres';
  await withClient(admin.toString(), (client) => client.query(`DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`));
  await migrateDatabase(databaseUrl);
}

/**
 * Reclaims the space of the runs a benchmark deleted (VACUUM), so that one benchmark's
 * garbage does not slow the next on a server whose autovacuum is off or has not come round yet.
 */
export async function vacuumRunTables(databaseUrl: string): Promise<void> {
  await withClient(databaseUrl, (client) => client.query(`VACUUM (ANALYZE) ${RUN_TABLES}`));
}

/** The tables a run writes. */
export const RUN_TABLES = 'runs, run_steps, run_step_turns, run_tool_calls, run_outbox, run_event_histories, artifacts, webhook_deliveries';

/** The URL of a sibling database on the same server (e.g. a fresh one for one benchmark). */
export function siblingDatabaseUrl(databaseUrl: string, suffix: string): string {
  const url = new URL(databaseUrl);
  url.pathname = `${url.pathname}_${suffix}`;
  return url.toString();
}
