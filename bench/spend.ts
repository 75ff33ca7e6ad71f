import pg from 'pg';
import { spendSql, type SpendDimension } from '@conveyor/core';
import type { ApiClient } from './harness/api-client.ts';
import { type Benchmark, type Figure, ratioOf, targets } from './harness/benchmark.ts';
import { recreateDatabase, siblingDatabaseUrl, vacuumRunTables } from './harness/environment.ts';
import { startStack } from './harness/stack.ts';
import { summarize } from './harness/stats.ts';

/**
 * `GET /v1/spend` at a million runs. The baseline holds `fewRuns`, all in the last
 * 30 days; then `manyRuns − fewRuns` older runs are added over the year before. The
 * 30-day queries read the same steps both times, so their ratio shows what the table's
 * size costs (the lists benchmark's measure); the year-long query reads every step.
 */
const sizes = {
  full: { fewRuns: 10_000, manyRuns: 1_000_000, requests: 30, warmup: 3 },
  quick: { fewRuns: 200, manyRuns: 2_000, requests: 3, warmup: 1 },
};

/** The end of the measured window (exclusive): a fixed "now" so that the seeded days never move. */
const now = Date.UTC(2026, 11, 1);
const dayMs = 86_400_000;
const window30 = { from: new Date(now - 30 * dayMs), to: new Date(now) };
const year = { from: new Date(now - 365 * dayMs), to: new Date(now) };
const pipelineCount = 10;
const models = [
  ['anthropic', 'claude-sonnet-4-6'],
  ['anthropic', 'claude-haiku-4-5'],
  ['anthropic', 'claude-opus-4-6'],
  ['openai', 'gpt-5.4'],
  ['openai', 'gpt-5.4-mini'],
  ['openai', 'gpt-4.1'],
];

/**
 * Adds runs numbered [from, to) of `pipelineIds` (round robin), two finished steps each,
 * finishing evenly over [spanStart, spanEnd), as the run engine records them: each step with
 * its run's pipeline and the time of its model call (10 s before it finished). The first step
 * is one call; the second is a tool loop of three turns (the first two answered by another
 * model), each turn with its own call time, model, usage and cost, adding up to the step's.
 */
async function seed(db: pg.Pool, pipelineIds: string[], agentId: string, from: number, to: number, spanStart: number, spanEnd: number): Promise<void> {
  const batch = 50_000;
  const count = to - from;
  const modelValues = models.map(([p, m], i) => `(${i}, '${p}', '${m}')`).join(', ');
  for (let start = from; start < to; start += batch) {
    const range = [start, Math.min(to, start + batch) - 1];
    const finished = `(to_timestamp(${spanStart / 1000}) + (g - ${from}) * make_interval(secs => ${(spanEnd - spanStart) / 1000 / count}))`;
    await db.query(
      `INSERT INTO runs (id, pipeline_id, status, input, output, input_tokens, output_tokens, cost, attempts, created_at, started_at, finished_at, updated_at)
       SELECT 'run_spend' || lpad(g::text, 8, '0'), ($3::text[])[1 + g % ${pipelineIds.length}], 'succeeded', '"bench"', '"bench"', 2400, 700,
              0.004 + (g % 997) * 0.000001, 1, ${finished} - interval '20 seconds', ${finished} - interval '20 seconds', ${finished}, now()
         FROM generate_series($1::int, $2::int) AS g`,
      [...range, pipelineIds],
    );
    await db.query(
      `INSERT INTO run_steps (run_id, index, agent_id, pipeline_id, provider, model, status, output, input_tokens, output_tokens, cache_read_tokens, cache_write_tokens, cost,
              started_at, called_at, finished_at, spent_in_turns)
       SELECT 'run_spend' || lpad(g::text, 8, '0'), s.i, $3, ($4::text[])[1 + g % ${pipelineIds.length}], m.provider, m.model, 'succeeded', 'bench', 1200, 350, 500, 100,
              0.002 + (g % 997) * 0.0000005, ${finished} - interval '20 seconds', ${finished} - make_interval(secs => 10 * (2 - s.i)),
              ${finished} - make_interval(secs => 10 * (1 - s.i)), s.i = 1
         FROM generate_series($1::int, $2::int) AS g
         CROSS JOIN (VALUES (0), (1)) AS s(i)
         JOIN (VALUES ${modelValues}) AS m(n, provider, model) ON m.n = (g + s.i) % ${models.length}`,
      [...range, agentId, pipelineIds],
    );
    await db.query(
      `INSERT INTO run_step_turns (run_id, step_index, turn, provider, model, message, stop_reason, input_tokens, output_tokens,
              cache_read_tokens, cache_write_tokens, cost, called_at, pipeline_id, finished_at)
       SELECT 'run_spend' || lpad(g::text, 8, '0'), 1, t.n, m.provider, m.model, '{}', 'end_turn', t.input, t.output, t.cache_read, t.cache_write,
              (0.002 + (g % 997) * 0.0000005) * t.share, ${finished} - make_interval(secs => 10 + 3 * (3 - t.n)),
              ($3::text[])[1 + g % ${pipelineIds.length}], ${finished} - make_interval(secs => 10 + 3 * (3 - t.n)) + interval '2 seconds'
         FROM generate_series($1::int, $2::int) AS g
         CROSS JOIN (VALUES (1, 0.25, 400, 100, 100, 100, 1), (2, 0.25, 400, 100, 200, 0, 1), (3, 0.5, 400, 150, 200, 0, 0)) AS t(n, share, input, output, cache_read, cache_write, other)
         JOIN (VALUES ${modelValues}) AS m(n, provider, model) ON m.n = (g + 1 + t.other) % ${models.length}`,
      [...range, pipelineIds],
    );
  }
}

const queries: Array<{ label: string; window: { from: Date; to: Date }; groupBy: SpendDimension[] }> = [
  { label: '30 days by day', window: window30, groupBy: ['day'] },
  { label: '30 days by day and provider', window: window30, groupBy: ['day', 'provider'] },
  { label: '30 days by model', window: window30, groupBy: ['model'] },
  { label: '30 days by pipeline', window: window30, groupBy: ['pipeline'] },
  { label: '365 days by day', window: year, groupBy: ['day'] },
];

const pathOf = (q: (typeof queries)[number]) => `/v1/spend?from=${q.window.from.toISOString()}&to=${q.window.to.toISOString()}&groupBy=${q.groupBy.join(',')}`;

async function latencies(api: ApiClient, path: string, requests: number, warmup: number): Promise<number[]> {
  const measured: number[] = [];
  for (let i = 0; i < warmup + requests; i++) {
    const started = performance.now();
    await api.request('GET', path);
    if (i >= warmup) measured.push(performance.now() - started);
  }
  return measured;
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Heap Fetches'?: number;
  Plans?: PlanNode[];
}

/** The plan of the core's spend SQL: which scans read run_steps and run_step_turns. */
async function plan(db: pg.Pool, q: (typeof queries)[number]) {
  const { rows } = await db.query<{ 'QUERY PLAN': Array<{ Plan: PlanNode; 'Execution Time': number }> }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${spendSql(q.groupBy)}`, [q.window.from, q.window.to]);
  const root = rows[0]!['QUERY PLAN'][0]!;
  const nodes: string[] = [];
  let heapFetches = 0;
  const walk = (node: PlanNode) => {
    nodes.push([node['Node Type'], node['Relation Name'] && `on ${node['Relation Name']}`, node['Index Name'] && `using ${node['Index Name']}`].filter(Boolean).join(' '));
    heapFetches += node['Heap Fetches'] ?? 0;
    node.Plans?.forEach(walk);
  };
  walk(root.Plan);
  // Steps and turns are read from their covering indexes alone, never scanned whole (pipelines may be, when that is cheaper).
  const readsStepsFromIndexOnly =
    nodes.some((n) => n === 'Index Only Scan on run_steps using run_steps_spend_idx') &&
    nodes.some((n) => n === 'Index Only Scan on run_step_turns using run_step_turns_spend_idx') &&
    !nodes.some((n) => n.startsWith('Seq Scan on run_step'));
  return { nodes, heapFetches, readsStepsFromIndexOnly, executionMs: root['Execution Time'] };
}

export const spend: Benchmark = {
  name: 'spend',
  measures:
    'GET /v1/spend latency p99 at 1,000,000 runs (2,000,000 steps, 1,000,000 of them tool loops of 3 turns: 4,000,000 model calls): 30-day windows grouped four ways, and a whole year by day; query plans',
  baseline: 'the same 30-day requests at 10,000 runs (all in the window: the 30-day queries read the same steps both times)',
  async run(ctx) {
    const size = sizes[ctx.size];
    const databaseUrl = siblingDatabaseUrl(ctx.env.databaseUrl, 'spend');
    ctx.log('creating a fresh database');
    await recreateDatabase(databaseUrl);
    const stack = await startStack(ctx, { label: 'spend', databaseUrl, emulator: false });
    const db = stack.db.pool;
    const agentId = await stack.api.createAgent('bench spend agent');
    const pipelineIds: string[] = [];
    for (let i = 0; i < pipelineCount; i++) pipelineIds.push(await stack.api.createPipeline(`bench spend ${i}`, agentId, 2));

    const measure = async () => {
      const result: Record<string, { p50: number; p99: number; plan: Awaited<ReturnType<typeof plan>> }> = {};
      for (const q of queries) {
        const summary = summarize(await latencies(stack.api, pathOf(q), size.requests, size.warmup));
        result[q.label] = { p50: summary.p50, p99: summary.p99, plan: await plan(db, q) };
      }
      return result;
    };

    ctx.log(`seeding ${size.fewRuns} runs in the last 30 days`);
    await seed(db, pipelineIds, agentId, 0, size.fewRuns, window30.from.getTime(), window30.to.getTime());
    await vacuumRunTables(databaseUrl);
    const few = await measure();
    const seedStarted = performance.now();
    ctx.log(`seeding up to ${size.manyRuns} runs over the year before`);
    await seed(db, pipelineIds, agentId, size.fewRuns, size.manyRuns, year.from.getTime(), window30.from.getTime());
    await vacuumRunTables(databaseUrl);
    const seedSeconds = (performance.now() - seedStarted) / 1000;
    const many = await measure();

    const runsLabel = size.manyRuns.toLocaleString('en-US');
    const figures: Figure[] = queries.map((q) => {
      const at = many[q.label]!;
      const windowed = q.window === window30;
      return {
        metric: `GET /v1/spend ${q.label} p99, ${runsLabel} runs`,
        value: at.p99,
        unit: 'ms',
        ...(windowed ? { baseline: few[q.label]!.p99, ratio: ratioOf(at.p99, few[q.label]!.p99), target: targets.ratioAtMost(2) } : { target: targets.below(5000, 'ms') }),
      };
    });
    // A window of the table reads its steps from the index; a range over every step may be a plain scan.
    const plans = queries.filter((q) => q.window === window30).map((q) => many[q.label]!.plan);
    figures.push({
      metric: `30-day spend queries reading steps and turns from their spend indexes alone, ${runsLabel} runs`,
      value: plans.filter((p) => p.readsStepsFromIndexOnly).length,
      unit: `of ${plans.length}`,
      target: targets.atLeast(plans.length, `of ${plans.length}`),
    });
    return { figures, details: { ...size, seedSeconds, fewRunsResults: few, manyRunsResults: many } };
  },
};
