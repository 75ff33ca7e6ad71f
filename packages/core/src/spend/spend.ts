import { Decimal, formatUsd } from '../catalog/cost.ts';
import { type Database, sqlPool } from '../db/client.ts';
import { compareOrdinal } from '../text/ordinal.ts';

/**
 * Spend over time: exact decimal sums of cost and tokens over the model calls made in
 * [from, to), each at its own `called_at`, provider and model, whenever its step finished. A
 * one-shot step is one call (its run_steps row); a step that acts (a tool loop) makes one call
 * per turn (its run_step_turns rows). Served by `run_steps_spend_idx` and
 * `run_step_turns_spend_idx` (called_at first, then the run's pipeline, provider, model and
 * every summed column), so a range is read from the two indexes alone, whatever the groupBy.
 */
export const spendDimensions = ['day', 'pipeline', 'model', 'provider'] as const;
export type SpendDimension = (typeof spendDimensions)[number];

export interface SpendQuery {
  /** Inclusive. */
  from: Date;
  /** Exclusive. */
  to: Date;
  /** One dimension, or two (e.g. day and provider for a stacked chart). */
  groupBy: readonly SpendDimension[];
}

export interface SpendTotals {
  /** USD, exact decimal string. Model calls without a known price are left out of it (see unpricedModelCalls). */
  cost: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /**
   * Steps counted, each once: at its answering (last) model call's time, provider and model. A
   * tool-loop step's earlier turns add their cost and tokens to their own groups, not a step.
   */
  steps: number;
  /** Of those, steps without any priced model call (their tokens are counted, their cost is not). */
  unpricedSteps: number;
  /** Model calls counted: one per one-shot step, one per turn of a tool-loop step. Cost and tokens are theirs. */
  modelCalls: number;
  /** Of those, calls whose model had no known price (their tokens are counted, their cost is not). */
  unpricedModelCalls: number;
}

export interface SpendGroup extends SpendTotals {
  /** UTC day, YYYY-MM-DD (groupBy day). */
  day?: string;
  pipelineId?: string;
  pipelineName?: string | null;
  provider?: string | null;
  model?: string | null;
}

export interface SpendReport {
  from: string;
  to: string;
  groupBy: SpendDimension[];
  currency: 'USD';
  total: SpendTotals;
  groups: SpendGroup[];
}

/** A spend query the API answers with 400. */
export class InvalidSpendQueryError extends Error {
  override name = 'InvalidSpendQueryError';
}

/** The key of each dimension: all are columns of run_steps and of run_step_turns (and of their spend indexes). */
const keysOf: Record<SpendDimension, Array<{ sql: string; alias: string }>> = {
  // UTC days as bins of a timestamptz: plain arithmetic per row, cheaper than date_trunc with a zone
  // (which converts every row to local time). The expression is the one the spend_day statistics of
  // both tables are on (migration spend_by_turn), which lets the planner hash the days, not sort.
  day: [{ sql: `date_bin('1 day', s.called_at, timestamptz '2000-01-01 00:00:00+00')`, alias: 'day' }],
  pipeline: [{ sql: 's.pipeline_id', alias: 'pipeline_id' }],
  provider: [{ sql: 's.provider', alias: 'provider' }],
  model: [
    { sql: 's.provider', alias: 'provider' },
    { sql: 's.model', alias: 'model' },
  ],
};

export function validateSpendQuery(query: SpendQuery): void {
  if (Number.isNaN(query.from.getTime()) || Number.isNaN(query.to.getTime())) throw new InvalidSpendQueryError('from and to must be valid ISO 8601 times');
  if (query.from >= query.to) throw new InvalidSpendQueryError('from must be before to (from is inclusive, to exclusive)');
  if (query.groupBy.length < 1 || query.groupBy.length > 2) throw new InvalidSpendQueryError('groupBy takes one or two of day, pipeline, model, provider');
  for (const dimension of query.groupBy) {
    if (!spendDimensions.includes(dimension)) throw new InvalidSpendQueryError(`groupBy "${dimension}" is not one of day, pipeline, model, provider`);
  }
  if (new Set(query.groupBy).size !== query.groupBy.length) throw new InvalidSpendQueryError('groupBy names a dimension twice');
}

/** Keys of the chosen dimensions, each once (model brings provider with it). */
function keysOfGroupBy(groupBy: readonly SpendDimension[]) {
  const keys = new Map<string, string>();
  for (const dimension of groupBy) for (const key of keysOf[dimension]) keys.set(key.alias, key.sql);
  return [...keys].map(([alias, sql]) => ({ alias, sql }));
}

/**
 * The SQL of a spend query over model calls made in [$1, $2): one-shot steps from
 * `run_steps_spend_idx` and tool-loop turns from `run_step_turns_spend_idx`, each summed by the
 * groups in an index-only scan, then the two sets of groups added up. A tool-loop step's row
 * counts the step only (its turns carry the calls). Steps without a call (pending, approval,
 * reused by a branch, failed before any model answered) have no called_at and no turns, and are
 * never counted. By pipeline, the names are looked up for the resulting groups only.
 */
export function spendSql(groupBy: readonly SpendDimension[]): string {
  const keys = keysOfGroupBy(groupBy);
  const keyList = keys.map((k) => `${k.sql} AS ${k.alias}`).join(', ');
  const groupList = keys.map((k) => k.sql).join(', ');
  const oneShot = 'NOT s.spent_in_turns';
  const grouped = `SELECT ${keys.map((k) => k.alias).join(', ')},
           sum(cost) AS cost,
           sum(input_tokens) AS input_tokens,
           sum(output_tokens) AS output_tokens,
           sum(cache_read_tokens) AS cache_read_tokens,
           sum(cache_write_tokens) AS cache_write_tokens,
           sum(steps) AS steps, sum(unpriced_steps) AS unpriced_steps,
           sum(model_calls) AS model_calls, sum(unpriced_model_calls) AS unpriced_model_calls
      FROM (
        SELECT ${keyList},
               sum(s.cost) FILTER (WHERE ${oneShot}) AS cost,
               sum(s.input_tokens) FILTER (WHERE ${oneShot}) AS input_tokens,
               sum(s.output_tokens) FILTER (WHERE ${oneShot}) AS output_tokens,
               sum(s.cache_read_tokens) FILTER (WHERE ${oneShot}) AS cache_read_tokens,
               sum(s.cache_write_tokens) FILTER (WHERE ${oneShot}) AS cache_write_tokens,
               count(*) AS steps, count(*) FILTER (WHERE s.cost IS NULL) AS unpriced_steps,
               count(*) FILTER (WHERE ${oneShot}) AS model_calls,
               count(*) FILTER (WHERE ${oneShot} AND s.cost IS NULL) AS unpriced_model_calls
          FROM run_steps s
         WHERE s.called_at >= $1 AND s.called_at < $2
         GROUP BY ${groupList}
        UNION ALL
        SELECT ${keyList},
               sum(s.cost), sum(s.input_tokens), sum(s.output_tokens), sum(s.cache_read_tokens), sum(s.cache_write_tokens),
               0, 0, count(*), count(*) FILTER (WHERE s.cost IS NULL)
          FROM run_step_turns s
         WHERE s.called_at >= $1 AND s.called_at < $2
         GROUP BY ${groupList}
      ) calls
     GROUP BY ${keys.map((k) => k.alias).join(', ')}`;
  if (!groupBy.includes('pipeline')) return grouped;
  return `SELECT g.*, p.name AS pipeline_name FROM (${grouped}) g LEFT JOIN pipelines p ON p.id = g.pipeline_id`;
}

type Row = Record<string, string | Date | null>;

const count = (value: string | Date | null): number => {
  const n = Number(value ?? 0);
  if (!Number.isSafeInteger(n)) throw new RangeError(`a token sum past 2^53 cannot be shown exactly: ${value}`);
  return n;
};

function totalsOf(row: Row): SpendTotals {
  return {
    cost: formatUsd((row.cost as string | null) ?? '0'),
    inputTokens: count(row.input_tokens ?? null),
    outputTokens: count(row.output_tokens ?? null),
    cacheReadTokens: count(row.cache_read_tokens ?? null),
    cacheWriteTokens: count(row.cache_write_tokens ?? null),
    steps: count(row.steps ?? null),
    unpricedSteps: count(row.unpriced_steps ?? null),
    modelCalls: count(row.model_calls ?? null),
    unpricedModelCalls: count(row.unpriced_model_calls ?? null),
  };
}

/** The total is the exact sum of the groups: every model call and every step is in one group. */
function sumOf(groups: readonly SpendTotals[]): SpendTotals {
  const add = (pick: (g: SpendTotals) => number) => groups.reduce((total, g) => total + pick(g), 0);
  return {
    cost: formatUsd(groups.reduce((total, g) => total.plus(g.cost), new Decimal(0))),
    inputTokens: add((g) => g.inputTokens),
    outputTokens: add((g) => g.outputTokens),
    cacheReadTokens: add((g) => g.cacheReadTokens),
    cacheWriteTokens: add((g) => g.cacheWriteTokens),
    steps: add((g) => g.steps),
    unpricedSteps: add((g) => g.unpricedSteps),
    modelCalls: add((g) => g.modelCalls),
    unpricedModelCalls: add((g) => g.unpricedModelCalls),
  };
}

function groupOf(row: Row, groupBy: readonly SpendDimension[]): SpendGroup {
  const group: SpendGroup = {} as SpendGroup;
  if (groupBy.includes('day')) group.day = (row.day as Date).toISOString().slice(0, 10);
  if (groupBy.includes('pipeline')) {
    group.pipelineId = row.pipeline_id as string;
    group.pipelineName = (row.pipeline_name as string | null) ?? null;
  }
  if (groupBy.includes('provider') || groupBy.includes('model')) group.provider = (row.provider as string | null) ?? null;
  if (groupBy.includes('model')) group.model = (row.model as string | null) ?? null;
  return Object.assign(group, totalsOf(row));
}

/** Days ascending; otherwise the dearest first. */
function compareGroups(groupBy: readonly SpendDimension[]) {
  return (a: SpendGroup, b: SpendGroup): number => {
    if (groupBy.includes('day') && a.day !== b.day) return a.day! < b.day! ? -1 : 1;
    const byCost = new Decimal(b.cost).comparedTo(a.cost);
    if (byCost !== 0) return byCost;
    return compareOrdinal(JSON.stringify([a.pipelineId, a.provider, a.model]), JSON.stringify([b.pipelineId, b.provider, b.model]));
  };
}

export async function spendReport(db: Database, query: SpendQuery): Promise<SpendReport> {
  validateSpendQuery(query);
  const { rows } = await sqlPool(db).query<Row>(spendSql(query.groupBy), [query.from, query.to]);
  const groups = rows.map((r) => groupOf(r, query.groupBy)).sort(compareGroups(query.groupBy));
  return { from: query.from.toISOString(), to: query.to.toISOString(), groupBy: [...query.groupBy], currency: 'USD', total: sumOf(groups), groups };
}

export interface BudgetStoppedRun {
  id: string;
  pipelineId: string;
  pipelineName: string | null;
  createdAt: string;
  finishedAt: string | null;
  /** What the run had spent when it stopped. */
  cost: string;
  /** The run's maxCostUsd, from the error's figures. */
  budget: string | null;
}

/**
 * Runs created in [from, to) that failed with `budget_exceeded` (newest first).
 * Served by the runs (status, created_at) index; the error code is read from the run's error.
 */
export async function runsStoppedByBudget(db: Database, query: { from: Date; to: Date; limit: number }): Promise<BudgetStoppedRun[]> {
  if (query.from >= query.to) throw new InvalidSpendQueryError('from must be before to (from is inclusive, to exclusive)');
  const { rows } = await sqlPool(db).query<{ id: string; pipeline_id: string; name: string | null; created_at: Date; finished_at: Date | null; cost: string | null; budget: string | null }>(
    `SELECT r.id, r.pipeline_id, p.name, r.created_at, r.finished_at, r.cost::text AS cost, r.error->>'budget' AS budget
       FROM runs r LEFT JOIN pipelines p ON p.id = r.pipeline_id
      WHERE r.status = 'failed' AND r.created_at >= $1 AND r.created_at < $2 AND r.error->>'code' = 'budget_exceeded'
      ORDER BY r.created_at DESC, r.id DESC
      LIMIT $3`,
    [query.from, query.to, query.limit],
  );
  return rows.map((r) => ({
    id: r.id,
    pipelineId: r.pipeline_id,
    pipelineName: r.name,
    createdAt: r.created_at.toISOString(),
    finishedAt: r.finished_at?.toISOString() ?? null,
    cost: formatUsd(r.cost ?? '0'),
    budget: r.budget === null ? null : formatUsd(r.budget),
  }));
}
