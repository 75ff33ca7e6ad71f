import { PrismaClient, type Database } from '@conveyor/core/db/client';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';

/** Plain SQL on the same pool as Prisma, for the one statement on the hot path (run submission). */
export interface SqlClient {
  query<Row extends object>(text: string, values: unknown[]): Promise<{ rows: Row[] }>;
}

export interface ApiDatabase {
  db: Database;
  sql: SqlClient;
  close: () => Promise<void>;
}

/** One node-postgres pool shared by Prisma and plain SQL. */
export function createApiDatabase(connectionString: string, options: { max?: number } = {}): ApiDatabase {
  const pool = new pg.Pool({ connectionString, max: options.max ?? 10 });
  const db = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    db,
    sql: pool,
    close: async () => {
      await db.$disconnect();
      await pool.end();
    },
  };
}
