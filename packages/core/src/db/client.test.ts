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

  it('leaves plan caching to Postgres: after five custom plans, a statement prepared by name runs on its generic plan', async () => {
    const client = await sqlPool(db).connect();
    try {
      expect((await client.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]!.plan_cache_mode).toBe('auto');
      await client.query('CREATE TEMP TABLE plan_probe (id int PRIMARY KEY)');
      await client.query('INSERT INTO plan_probe SELECT generate_series(1, 20000)');
      await client.query('ANALYZE plan_probe');
      const probe = { name: 'plan-probe', text: 'SELECT count(*)::int AS n FROM jsonb_to_recordset($1::jsonb) AS v(id int) JOIN plan_probe p USING (id) LIMIT $2::int' };
      for (let i = 0; i < 8; i++) {
        const { rows } = await client.query<{ n: number }>({ ...probe, values: [JSON.stringify([{ id: i + 1 }, { id: i + 2 }]), 2] });
        expect(rows[0]!.n).toBe(2);
      }
      const { rows } = await client.query<{ generic_plans: string; custom_plans: string }>(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'plan-probe'",
      );
      // Five custom plans to learn the cost, then the generic plan for the rest.
      expect(rows.map((row) => [Number(row.custom_plans), Number(row.generic_plans)])).toEqual([[5, 3]]);
    } finally {
      client.release(true);
    }
  });

  it('behind a transaction pooler, sends no startup option (a pooler may refuse it) and prepares nothing by name', async () => {
    const pooled = createDatabase(process.env.DATABASE_URL!, { max: 1, transactionPooler: true });
    try {
      const pool = sqlPool(pooled);
      expect((await pool.query<{ plan_cache_mode: string }>('SHOW plan_cache_mode')).rows[0]!.plan_cache_mode).toBe('auto');
      await pool.query({ name: 'unnamed-probe', text: 'SELECT 1' });
      expect((await pool.query("SELECT 1 FROM pg_prepared_statements WHERE name = 'unnamed-probe'")).rows).toEqual([]);
    } finally {
      await pooled.$disconnect();
    }
  });
});
