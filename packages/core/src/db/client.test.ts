import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, sqlPool } from './client.ts';

describe('database client', () => {
  const db = createDatabase(process.env.DATABASE_URL!, { max: 2 });
  afterAll(() => db.$disconnect());

  it('survives Postgres closing an idle connection (a restart, failover or terminate), and queries again', async () => {
    const pool = sqlPool(db);
    const { rows } = await pool.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const admin = createDatabase(process.env.DATABASE_URL!, { max: 1 });
    try {
      await sqlPool(admin).query('SELECT pg_terminate_backend($1)', [rows[0]!.pid]);
    } finally {
      await admin.$disconnect();
    }
    // The pool drops the dead client; without a listener for its error the process would have crashed here.
    for (let i = 0; i < 250 && pool.totalCount > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(pool.totalCount).toBe(0);
    expect((await pool.query<{ one: number }>('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });
});
