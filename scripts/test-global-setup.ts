import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { testDatabaseUrl } from '../vitest.shared.ts';
import { emptyTables } from './empty-tables.ts';

/**
 * Creates and migrates the test database once per test run, and empties it: it is the
 * template every test file's own database is copied from (scripts/test-database.ts).
 */
export default async function setup(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  execFileSync(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: testDatabaseUrl },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const client = new pg.Client({ connectionString: testDatabaseUrl });
  await client.connect();
  try {
    await emptyTables(client);
  } finally {
    await client.end();
  }
}
