import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from './generated/client.ts';

export { Prisma, PrismaClient } from './generated/client.ts';
export type * from './generated/models.ts';
export { RunStatus, StepStatus } from './generated/enums.ts';

export type Database = PrismaClient;

export interface DatabaseOptions {
  /** Connections in this process's pool. */
  max?: number;
}

/** A Prisma client over node-postgres. Call `$disconnect()` to close its pool. */
export function createDatabase(connectionString: string, options: DatabaseOptions = {}): Database {
  const adapter = new PrismaPg({ connectionString, max: options.max ?? 10 });
  return new PrismaClient({ adapter });
}
