import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { PrismaClient } from './generated/client.ts';

export { Prisma, PrismaClient } from './generated/client.ts';
export type * from './generated/models.ts';
export { RunStatus, StepStatus } from './generated/enums.ts';

export type Database = PrismaClient;
export type SqlPool = pg.Pool;

export interface DatabaseOptions {
  /** Connections in this process's pool. */
  max?: number;
  /**
   * DATABASE_URL is a transaction-mode pooler (PgBouncer `pool_mode = transaction`): each
   * transaction may run on another server connection, so no statement is prepared by name.
   */
  transactionPooler?: boolean;
}

const pools = new WeakMap<Database, SqlPool>();

/**
 * A Prisma client over a node-postgres pool. Call `$disconnect()` to close the pool.
 * The pool is also reachable through `sqlPool()` for the few hot paths that
 * write plain SQL (the run engine's store and submission).
 *
 * Those statements are prepared by name and Postgres decides how to plan them (`plan_cache_mode`
 * left at `auto`): after five executions it keeps a generic plan when that costs no more, and an
 * ANALYZE of a table they read makes it plan them again. With autovacuum on (Postgres's default)
 * the plans follow the tables' growth; planning every execution instead cost a third of Postgres's
 * time per run (docs/performance.md).
 */
export function createDatabase(connectionString: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
  });
  // An idle connection that Postgres closes (restart, failover, pg_terminate_backend) is reported
  // here; without a listener node-postgres would crash the process. The pool replaces it, and the
  // next query on a dead connection fails like any other (see runs/engine/infrastructure.ts).
  pool.on('error', () => {});
  if (options.transactionPooler) sendStatementsUnnamed(pool);
  const client = new PrismaClient({ adapter: new PrismaPg(pool) });
  const disconnectPrisma = client.$disconnect.bind(client);
  let ended: Promise<void> | undefined;
  client.$disconnect = async () => {
    await disconnectPrisma();
    ended ??= pool.end();
    await ended;
  };
  pools.set(client, pool);
  return client;
}

/**
 * A statement prepared by name lives on one server connection; behind a transaction pooler the
 * next query may reach another, where that name is unknown (or taken). Unnamed statements are
 * parsed with each query, in the same round trip.
 */
function sendStatementsUnnamed(pool: SqlPool): void {
  const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
  pool.query = ((config: unknown, ...rest: unknown[]) =>
    query(typeof config === 'object' && config !== null && 'name' in config ? { ...config, name: undefined } : config, ...rest)) as SqlPool['query'];
}

/** The pool behind a client made by `createDatabase`. */
export function sqlPool(db: Database): SqlPool {
  const pool = pools.get(db);
  if (!pool) throw new Error('this database client was not made by createDatabase()');
  return pool;
}
