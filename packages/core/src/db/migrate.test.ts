import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../../..', import.meta.url));
const scratch = new URL(process.env.DATABASE_URL!);
scratch.pathname = `/conveyor_migrate_${process.pid}`;

function migrate(): string {
  return execFileSync(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], {
    cwd: root,
    env: { ...process.env, DATABASE_URL: scratch.toString() },
    encoding: 'utf8',
  });
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const url = new URL(scratch);
  url.pathname = '/postgres';
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

afterAll(() => admin((c) => c.query(`DROP DATABASE IF EXISTS "${scratch.pathname.slice(1)}" WITH (FORCE)`)));

describe('db:migrate', () => {
  it('creates a missing database, applies every migration, then is a no-op the second time', async () => {
    const first = migrate();
    expect(first).toContain('created database');
    expect(first).toMatch(/applied \d{14}_init/);
    const second = migrate();
    expect(second.trim()).toBe('db: up to date');
    const client = new pg.Client({ connectionString: scratch.toString() });
    await client.connect();
    const { rows } = await client.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL');
    await client.end();
    expect(rows.length).toBeGreaterThan(0);
    expect(new Set(rows.map((r) => r.migration_name)).size).toBe(rows.length);
  });
});
