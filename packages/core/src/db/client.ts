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
 * write plain SQL (see pipeline/run-store.ts).
 */
export function createDatabase(connectionString: string, options: DatabaseOptions = {}): Database {
  const pool = new pg.Pool({
    connectionString,
    max: options.max ?? 10,
    // Statements prepared by name are planned for their parameters at each execution: the store's
    // batch statements read a JSON batch whose size only a custom plan sees, and a generic plan
    // made while a table was small would keep scanning it whole. A SET on each new connection
    // before its first query, not a startup option, which poolers (PgBouncer, managed proxies) may
    // refuse. Behind a transaction pooler nothing is prepared by name, and a session setting would not stick.
    ...(options.transactionPooler ? {} : { onConnect: planEveryExecution }),
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

async function planEveryExecution(client: pg.ClientBase): Promise<void> {
  // A server without the setting (before Postgres 12) keeps its generic plans.
  await client.query('SET plan_cache_mode = force_custom_plan').catch(() => undefined);
}

/** The pool behind a client made by `createDatabase`. */
export function sqlPool(db: Database): SqlPool {
  const pool = pools.get(db);
  if (!pool) throw new Error('this database client was not made by createDatabase()');
  return pool;
}
