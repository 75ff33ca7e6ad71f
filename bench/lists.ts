import pg from 'pg';
import { encodeCursor } from '@conveyor/api/pagination';
import type { ApiClient } from './harness/api-client.ts';
import { type Benchmark, type Figure, ratioOf, targets } from './harness/benchmark.ts';
import { recreateDatabase, siblingDatabaseUrl } from './harness/environment.ts';
import { startStack } from './harness/stack.ts';
import { summarize } from './harness/stats.ts';

const sizes = {
  full: { fewRows: 1000, manyRows: 100_000, requests: 200, warmup: 20 },
  quick: { fewRows: 20, manyRows: 200, requests: 10, warmup: 2 },
};

type Table = 'runs' | 'artifacts';
const listEndpoints: Array<{ table: Table; path: string }> = [
  { table: 'runs', path: '/v1/runs' },
  { table: 'artifacts', path: '/v1/artifacts' },
];
const pageSize = 20;

/** Adds runs (each with one step and an artifact) numbered [from, to), newest = highest number. */
async function seed(db: pg.Pool, pipelineId: string, agentId: string, from: number, to: number): Promise<void> {
  const batch = 20_000;
  for (let start = from; start < to; start += batch) {
    const range = [start, Math.min(to, start + batch) - 1];
    const series = `FROM generate_series($1::int, $2::int) AS g`;
    const createdAt = `(timestamptz '2026-01-01' + make_interval(secs => g))`;
    await db.query(
      `INSERT INTO runs (id, pipeline_id, status, input, output, input_tokens, output_tokens, cost, attempts, created_at, started_at, finished_at, updated_at)
       SELECT 'run_seed' || lpad(g::text, 8, '0'), $3, 'succeeded', '"bench input"', '"bench output"', 12, 34, 0.000123, 1,
              ${createdAt}, ${createdAt}, ${createdAt} + interval '1 second', now() ${series}`,
      [...range, pipelineId],
    );
    await db.query(
      `INSERT INTO run_steps (run_id, index, agent_id, provider, model, status, output, input_tokens, output_tokens, cost, started_at, finished_at)
       SELECT 'run_seed' || lpad(g::text, 8, '0'), 0, $3, 'anthropic', 'claude-sonnet-4-6', 'succeeded', 'bench output', 12, 34, 0.000123,
              ${createdAt}, ${createdAt} + interval '1 second' ${series}`,
      [...range, agentId],
    );
    await db.query(
      `INSERT INTO artifacts (id, run_id, pipeline_id, pipeline_name, artifact_data, cost, input_tokens, output_tokens, models, run_created_at, duration_ms, created_at)
       SELECT 'art_seed' || lpad(g::text, 8, '0'), 'run_seed' || lpad(g::text, 8, '0'), $3, 'bench lists',
              '{"output": "bench output", "steps": [{"index": 0, "output": "bench output"}]}', 0.000123, 12, 34, ARRAY['claude-sonnet-4-6'],
              ${createdAt}, 1000, ${createdAt} + interval '1 second' ${series}`,
      [...range, pipelineId],
    );
  }
  await db.query('ANALYZE runs; ANALYZE run_steps; ANALYZE artifacts');
}

/** The row in the middle of the newest-first order: a deep page starts after it. */
async function middleRow(db: pg.Pool, table: Table, rows: number): Promise<{ createdAt: Date; id: string }> {
  const { rows: found } = await db.query<{ created_at: Date; id: string }>(
    `SELECT created_at, id FROM ${table} ORDER BY created_at DESC, id DESC OFFSET $1 LIMIT 1`,
    [Math.floor(rows / 2)],
  );
  return { createdAt: found[0]!.created_at, id: found[0]!.id };
}

async function pageLatencies(api: ApiClient, path: string, requests: number, warmup: number): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < warmup + requests; i++) {
    const started = performance.now();
    await api.request('GET', path);
    if (i >= warmup) latencies.push(performance.now() - started);
  }
  return latencies;
}

/**
 * The plan Postgres picks for the API's list query (the SQL Prisma sends for
 * `findMany({where: cursor, orderBy: [createdAt desc, id desc], take})`).
 */
async function plan(db: pg.Pool, table: Table, after?: { createdAt: Date; id: string }) {
  // As apps/api/src/pagination.ts builds it: the `<=` bound starts the index range scan at the cursor.
  const where = after ? 'WHERE created_at <= $1 AND (created_at < $1 OR (created_at = $1 AND id < $2))' : '';
  const { rows } = await db.query<{ 'QUERY PLAN': unknown }>(
    `EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM ${table} ${where} ORDER BY created_at DESC, id DESC LIMIT ${pageSize + 1}`,
    after ? [after.createdAt, after.id] : [],
  );
  const root = (rows[0]!['QUERY PLAN'] as Array<{ Plan: PlanNode; 'Execution Time': number }>)[0]!;
  const nodes: string[] = [];
  let rowsFilteredOut = 0;
  const walk = (node: PlanNode) => {
    const parts = [node['Node Type'], node['Index Name'] && `using ${node['Index Name']}`, node['Index Cond'] && `cond ${node['Index Cond']}`, node.Filter && `filter ${node.Filter}`];
    nodes.push(parts.filter(Boolean).join(' '));
    rowsFilteredOut += node['Rows Removed by Filter'] ?? 0;
    node.Plans?.forEach(walk);
  };
  walk(root.Plan);
  // Efficient: the page is read in order from an index, without scanning past rows it then throws away.
  const readsPageFromIndex =
    nodes.some((n) => n.startsWith('Index')) && !nodes.some((n) => n.startsWith('Seq Scan') || n.startsWith('Sort')) && rowsFilteredOut <= pageSize;
  return { nodes, rowsFilteredOut, readsPageFromIndex, executionMs: root['Execution Time'] };
}

interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Index Cond'?: string;
  Filter?: string;
  'Rows Removed by Filter'?: number;
  Plans?: PlanNode[];
}

export const lists: Benchmark = {
  name: 'lists',
  measures: 'GET /v1/runs and GET /v1/artifacts page latency p99 (first page and a page from the middle) at 100,000 rows; query plans',
  baseline: 'the same requests at 1,000 rows',
  async run(ctx) {
    const size = sizes[ctx.size];
    const databaseUrl = siblingDatabaseUrl(ctx.env.databaseUrl, 'lists');
    ctx.log('creating a fresh database');
    await recreateDatabase(databaseUrl);
    const stack = await startStack(ctx, { label: 'lists', databaseUrl, emulator: false });
    const db = stack.db.pool;
    const agentId = await stack.api.createAgent('bench lists agent');
    const pipelineId = await stack.api.createPipeline('bench lists', agentId, 1);

    const measure = async (rows: number) => {
      const result: Record<string, { p99: number; p50: number; plan: Awaited<ReturnType<typeof plan>> }> = {};
      for (const { table, path } of listEndpoints) {
        const middle = await middleRow(db, table, rows);
        const pages = { 'first page': `${path}?limit=${pageSize}`, 'middle page': `${path}?limit=${pageSize}&cursor=${encodeCursor(middle)}` };
        for (const [page, url] of Object.entries(pages)) {
          const latencies = summarize(await pageLatencies(stack.api, url, size.requests, size.warmup));
          result[`GET ${path} ${page}`] = { p50: latencies.p50, p99: latencies.p99, plan: await plan(db, table, page === 'middle page' ? middle : undefined) };
        }
      }
      return result;
    };

    ctx.log(`seeding ${size.fewRows} runs and artifacts`);
    await seed(db, pipelineId, agentId, 0, size.fewRows);
    const few = await measure(size.fewRows);
    ctx.log(`seeding up to ${size.manyRows} runs and artifacts`);
    await seed(db, pipelineId, agentId, size.fewRows, size.manyRows);
    const many = await measure(size.manyRows);

    const rowsLabel = size.manyRows.toLocaleString('en-US');
    const figures: Figure[] = Object.entries(many).map(([query, at]) => ({
      metric: `${query} p99, ${rowsLabel} rows`,
      value: at.p99,
      unit: 'ms',
      baseline: few[query]!.p99,
      ratio: ratioOf(at.p99, few[query]!.p99),
      target: targets.ratioAtMost(2),
    }));
    const plans = Object.values(many).map((m) => m.plan);
    figures.push({
      metric: `list queries reading their page from an index, ${rowsLabel} rows`,
      value: plans.filter((p) => p.readsPageFromIndex).length,
      unit: `of ${plans.length}`,
      target: targets.atLeast(plans.length, `of ${plans.length}`),
    });
    return { figures, details: { ...size, pageSize, fewRowsResults: few, manyRowsResults: many } };
  },
};
