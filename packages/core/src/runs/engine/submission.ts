import type { Queue } from 'bullmq';
import { formatUsd } from '../../catalog/cost.ts';
import { Batcher } from '../../db/batcher.ts';
import type { SqlPool } from '../../db/client.ts';
import { newId } from '../../ids.ts';
import { compareOrdinal } from '../../text/ordinal.ts';
import type { Logger } from '../../logger.ts';
import { DEFAULT_MODEL, DEFAULT_MODEL_SETTING } from '../../settings/default-model.ts';
import type { RunJobData } from '../../queue/names.ts';
import { delayUntil, enqueueRunBatched } from '../../queue/runs-queue.ts';
import { traceCarrier } from '../../telemetry/tracing.ts';
import type { StepType } from './approval-types.ts';
import { BranchRefusedError, DefaultModelUnsetError, PipelineNotFoundError, PipelineOrphanedError, RunNotFoundError } from './errors.ts';
import type { StepOverrides } from './approval-types.ts';

/** A new run from an earlier one: the steps before `fromStep` reused, the rest run again. */
export interface Branch {
  parentRunId: string;
  fromStep: number;
  /** Step `fromStep`'s output: given, the step is reused with it instead of running again. */
  output?: string | undefined;
  /** The new run's input (default: the parent's). */
  input?: unknown;
  overrides?: StepOverrides | undefined;
  requestId?: string | undefined;
}

/** A run to submit. */
export interface Submission {
  pipelineId: string;
  input: unknown;
  metadata?: Record<string, unknown> | undefined;
  webhookUrl?: string | undefined;
  ttlSeconds?: number | undefined;
  /** A delayed run: stays queued until then (a past time runs at once); its ttl counts from then. */
  scheduledFor?: Date | undefined;
  /** The schedule whose fire made this run. */
  scheduleId?: string | undefined;
  /** The run's budget in USD (a decimal string); absent: the pipeline's, if it has one. */
  maxCostUsd?: string | undefined;
  idempotencyKey?: string | undefined;
  /** Carried to the worker's logs. */
  requestId?: string | undefined;
}

export type Submitted =
  | { created: true; runId: string; createdAt: Date; maxCostUsd: string | null; steps: SubmittedStep[] }
  /** The idempotency key named an earlier run: nothing was inserted or enqueued. */
  | { created: false; runId: string };

interface QueuedRunRow {
  id: string;
  pipelineId: string;
  /** JSON text. */
  input: string;
  /** JSON text or null. */
  metadata: string | null;
  webhookUrl: string | null;
  idempotencyKey: string | null;
  ttlSeconds: number | null;
  /** ISO time or null. */
  scheduledFor: string | null;
  scheduleId: string | null;
  maxCostUsd: string | null;
  requestId: string | null;
  /** JSON text of the submitting request's trace context, or null (tracing off). */
  traceContext: string | null;
}

/** A step of a submitted run as inserted. */
export interface SubmittedStep {
  index: number;
  type: StepType;
  agentId: string | null;
}

interface InsertedRun {
  createdAt: Date;
  maxCostUsd: string | null;
  steps: SubmittedStep[];
}

const MAX_BATCH = 200;
const MAX_STATEMENTS_IN_FLIGHT = 2;

/** The last part of a statement that inserts runs (CTE `inserted`) and their steps (CTE `inserted_steps`): each run with its steps. */
const selectInsertedRuns = `SELECT i.id, i.created_at, i.max_cost_usd::text AS max_cost_usd,
  coalesce(
    (SELECT json_agg(json_build_object('index', st.index, 'agentId', st.agent_id, 'type', st.type) ORDER BY st.index)
     FROM inserted_steps st WHERE st.run_id = i.id),
    '[]'::json
  ) AS steps
FROM inserted i`;

/**
 * Inserts many runs in one statement, each with one pending step per pipeline step. A run
 * is skipped when its pipeline is missing or orphaned, uses the default model while none is
 * set, or when its id or idempotency key exists already (the unique indexes settle
 * concurrent duplicates, and a statement retried after an ambiguous failure inserts nothing
 * twice); `explain` then says why.
 */
const insertRunsSql = `
  WITH req AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[], $7::int[], $8::text[], $9::timestamptz[], $10::text[],
        $11::numeric[], $12::jsonb[])
      AS r(id, pipeline_id, input, metadata, webhook_url, idempotency_key, ttl_seconds, request_id, scheduled_for, schedule_id, max_cost_usd,
        trace_context)
  ), orphaned AS (
    SELECT DISTINCT s.pipeline_id
    FROM pipeline_steps s LEFT JOIN agents a ON a.id = s.agent_id
    WHERE s.agent_id IS NOT NULL AND a.id IS NULL AND s.pipeline_id IN (SELECT pipeline_id FROM req)
  ), defaultless AS (
    SELECT DISTINCT s.pipeline_id
    FROM pipeline_steps s JOIN agents a ON a.id = s.agent_id
    WHERE a.model = '${DEFAULT_MODEL}' AND s.pipeline_id IN (SELECT pipeline_id FROM req)
      AND NOT EXISTS (SELECT 1 FROM settings WHERE key = '${DEFAULT_MODEL_SETTING}' AND jsonb_typeof(value) = 'string' AND value #>> '{}' <> '')
  ), inserted AS (
    INSERT INTO runs (id, pipeline_id, status, input, metadata, webhook_url, idempotency_key, ttl_seconds, request_id, scheduled_for, schedule_id,
      max_cost_usd, trace_context, updated_at)
    SELECT r.id, r.pipeline_id, 'queued', r.input, r.metadata, r.webhook_url, r.idempotency_key, r.ttl_seconds, r.request_id, r.scheduled_for, r.schedule_id,
      COALESCE(r.max_cost_usd, p.max_cost_usd), r.trace_context, now()
    FROM req r JOIN pipelines p ON p.id = r.pipeline_id AND p.archived_at IS NULL
    WHERE NOT EXISTS (SELECT 1 FROM orphaned o WHERE o.pipeline_id = r.pipeline_id)
      AND NOT EXISTS (SELECT 1 FROM defaultless d WHERE d.pipeline_id = r.pipeline_id)
    ON CONFLICT DO NOTHING
    RETURNING id, pipeline_id, created_at, max_cost_usd
  ), inserted_steps AS (
    INSERT INTO run_steps (run_id, index, agent_id, type)
    SELECT i.id, s.index, s.agent_id, s.type FROM inserted i JOIN pipeline_steps s ON s.pipeline_id = i.pipeline_id
    RETURNING run_id, index, agent_id, type
  )
  ${selectInsertedRuns}`;

/** Why a run was not inserted (or that it was, by an earlier attempt of the same statement). */
const explainSql = `
  SELECT
    (SELECT json_build_object('createdAt', r.created_at, 'maxCostUsd', r.max_cost_usd::text, 'steps',
        (SELECT coalesce(json_agg(json_build_object('index', s.index, 'agentId', s.agent_id, 'type', s.type) ORDER BY s.index), '[]'::json)
         FROM run_steps s WHERE s.run_id = r.id))
     FROM runs r WHERE r.id = $1) AS inserted,
    (SELECT id FROM runs WHERE pipeline_id = $2 AND idempotency_key = $3) AS earlier_run_id,
    EXISTS (SELECT 1 FROM pipelines WHERE id = $2 AND archived_at IS NULL) AS pipeline_exists,
    ARRAY(
      SELECT s.agent_id FROM pipeline_steps s LEFT JOIN agents a ON a.id = s.agent_id
      WHERE s.pipeline_id = $2 AND s.agent_id IS NOT NULL AND a.id IS NULL GROUP BY s.agent_id ORDER BY min(s.index)
    ) AS missing_agent_ids`;

/**
 * One lock order for every statement, so two batches never deadlock on the idempotency index: by
 * pipeline, then idempotency key, compared as code units (a total order; a locale would tie
 * distinct keys, and tied rows would keep each batch's arrival order).
 */
export function inLockOrder<T extends { pipelineId: string; idempotencyKey: string | null }>(batch: readonly T[]): T[] {
  return [...batch].sort((a, b) => compareOrdinal(a.pipelineId, b.pipelineId) || compareOrdinal(a.idempotencyKey ?? '', b.idempotencyKey ?? ''));
}

async function insertRuns(sql: SqlPool, batch: QueuedRunRow[]): Promise<Map<string, InsertedRun>> {
  const rows = inLockOrder(batch);
  const { rows: inserted } = await sql.query<{ id: string; created_at: Date; max_cost_usd: string | null; steps: InsertedRun['steps'] }>({
    name: 'conveyor.runs.insert',
    text: insertRunsSql,
    values: [
      rows.map((r) => r.id),
      rows.map((r) => r.pipelineId),
      rows.map((r) => r.input),
      rows.map((r) => r.metadata),
      rows.map((r) => r.webhookUrl),
      rows.map((r) => r.idempotencyKey),
      rows.map((r) => r.ttlSeconds),
      rows.map((r) => r.requestId),
      rows.map((r) => r.scheduledFor),
      rows.map((r) => r.scheduleId),
      rows.map((r) => r.maxCostUsd),
      rows.map((r) => r.traceContext),
    ],
  });
  return new Map(inserted.map((r) => [r.id, { createdAt: r.created_at, maxCostUsd: r.max_cost_usd === null ? null : formatUsd(r.max_cost_usd), steps: r.steps }]));
}

export interface SubmissionDeps {
  sql: SqlPool;
  runsQueue: Queue<RunJobData>;
  logger: Logger;
}

/**
 * Submission: stores a queued run and enqueues it (a delayed run as a BullMQ delayed job). Submissions arriving together share one
 * insert statement (group commit: one WAL flush for many runs) and one `addBulk`. If the
 * enqueue fails, the run stays `queued` in Postgres and the reconciler enqueues it.
 */
export class SubmissionSystem {
  readonly #inserts: Batcher<string, QueuedRunRow, InsertedRun>;

  constructor(private readonly deps: SubmissionDeps) {
    this.#inserts = new Batcher((rows) => insertRuns(deps.sql, rows), (row) => row.id, {
      maxBatch: MAX_BATCH,
      maxInFlight: MAX_STATEMENTS_IN_FLIGHT,
    });
  }

  async submit(submission: Submission): Promise<Submitted> {
    const { trace } = traceCarrier();
    const row: QueuedRunRow = {
      id: newId('run'),
      pipelineId: submission.pipelineId,
      input: JSON.stringify(submission.input),
      metadata: submission.metadata === undefined ? null : JSON.stringify(submission.metadata),
      webhookUrl: submission.webhookUrl ?? null,
      idempotencyKey: submission.idempotencyKey ?? null,
      ttlSeconds: submission.ttlSeconds ?? null,
      maxCostUsd: submission.maxCostUsd ?? null,
      requestId: submission.requestId ?? null,
      scheduledFor: submission.scheduledFor?.toISOString() ?? null,
      scheduleId: submission.scheduleId ?? null,
      traceContext: trace ? JSON.stringify(trace) : null,
    };
    const inserted = await this.#insert(row);
    if (!inserted.created) return inserted;
    try {
      await enqueueRunBatched(
        this.deps.runsQueue,
        { runId: row.id, ...(row.requestId ? { requestId: row.requestId } : {}), ...(trace ? { trace } : {}) },
        delayUntil(submission.scheduledFor),
      );
    } catch (error) {
      this.deps.logger.warn({ runId: row.id, err: error }, 'enqueue failed; the run stays queued for the reconciler');
    }
    return inserted;
  }

  async #insert(row: QueuedRunRow): Promise<Submitted> {
    const batched = await this.#inserts.add(row).catch((error: unknown) => {
      // The commit may have landed before the error (a connection lost at the wrong moment): explain() finds out.
      this.deps.logger.warn({ err: error, runId: row.id }, 'run insert failed; trying once more alone');
      return insertRuns(this.deps.sql, [row]).then((result) => result.get(row.id));
    });
    if (batched) return { created: true, runId: row.id, ...batched };
    return this.#explain(row);
  }

  async #explain(row: QueuedRunRow): Promise<Submitted> {
    const { rows } = await this.deps.sql.query<{
      inserted: { createdAt: string; maxCostUsd: string | null; steps: InsertedRun['steps'] } | null;
      earlier_run_id: string | null;
      pipeline_exists: boolean;
      missing_agent_ids: string[];
    }>({ name: 'conveyor.runs.explain-insert', text: explainSql, values: [row.id, row.pipelineId, row.idempotencyKey] });
    const why = rows[0]!;
    if (why.inserted) {
      const { createdAt, maxCostUsd, steps } = why.inserted;
      return { created: true, runId: row.id, createdAt: new Date(createdAt), maxCostUsd: maxCostUsd === null ? null : formatUsd(maxCostUsd), steps };
    }
    if (why.earlier_run_id) return { created: false, runId: why.earlier_run_id };
    if (!why.pipeline_exists) throw new PipelineNotFoundError(row.pipelineId);
    if (why.missing_agent_ids.length > 0) throw new PipelineOrphanedError(row.pipelineId, why.missing_agent_ids);
    throw new DefaultModelUnsetError(row.pipelineId);
  }
}

/** What a branch needs to know about its parent and the parent's pipeline as it is now. */
const branchBasisSql = `
SELECT r.pipeline_id AS "pipelineId", p.archived_at IS NOT NULL AS archived,
  COALESCE((
    SELECT json_agg(json_build_object('index', s.index, 'type', s.type, 'agentId', s.agent_id,
      'agentExists', a.id IS NOT NULL, 'parentStatus', rs.status) ORDER BY s.index)
    FROM pipeline_steps s LEFT JOIN agents a ON a.id = s.agent_id
    LEFT JOIN run_steps rs ON rs.run_id = r.id AND rs.index = s.index
    WHERE s.pipeline_id = r.pipeline_id
  ), '[]'::json) AS steps
FROM runs r JOIN pipelines p ON p.id = r.pipeline_id WHERE r.id = $1`;

/**
 * Inserts a branch of run $2: queued, its steps from the pipeline as it is now; those before
 * $5 (and $5 itself when $7 gives its output) are reused: succeeded, with the parent's output
 * (or $7), no usage and cost 0.
 */
const insertBranchSql = `
WITH parent AS (
  SELECT id, pipeline_id, input, metadata, webhook_url, max_cost_usd FROM runs WHERE id = $2
), inserted AS (
  INSERT INTO runs (id, pipeline_id, status, input, metadata, webhook_url, request_id, parent_run_id, branched_from_step, step_overrides,
    max_cost_usd, trace_context, updated_at)
  SELECT $1, parent.pipeline_id, 'queued', COALESCE($3::jsonb, parent.input), parent.metadata, parent.webhook_url, $4,
    parent.id, $5, $6::jsonb, parent.max_cost_usd, $8::jsonb, now()
  FROM parent
  RETURNING id, pipeline_id, created_at, max_cost_usd
), inserted_steps AS (
  INSERT INTO run_steps (run_id, index, agent_id, type, status, output, structured, provider, model, cost, decision, reused, started_at, finished_at)
  SELECT i.id, s.index, s.agent_id, s.type,
    CASE WHEN reuse.reused THEN 'succeeded' ELSE 'pending' END::"StepStatus",
    CASE WHEN s.index < $5 THEN ps.output WHEN reuse.reused THEN $7 END,
    s.index < $5 AND COALESCE(ps.structured, false),
    CASE WHEN s.index < $5 THEN ps.provider END,
    CASE WHEN s.index < $5 THEN ps.model END,
    CASE WHEN reuse.reused THEN 0 END,
    CASE WHEN s.index < $5 THEN ps.decision END,
    reuse.reused,
    CASE WHEN reuse.reused THEN i.created_at END,
    CASE WHEN reuse.reused THEN i.created_at END
  FROM inserted i JOIN pipeline_steps s ON s.pipeline_id = i.pipeline_id
  LEFT JOIN run_steps ps ON ps.run_id = $2 AND ps.index = s.index
  CROSS JOIN LATERAL (SELECT s.index < $5 OR (s.index = $5 AND $7::text IS NOT NULL) AS reused) reuse
  RETURNING run_id, index, agent_id, type
)
${selectInsertedRuns}`;

interface BranchBasisStep {
  index: number;
  type: StepType;
  agentId: string | null;
  agentExists: boolean;
  parentStatus: string | null;
}

/**
 * Branching: a new run of the parent's pipeline (as it is now) that reuses the parent's steps
 * before `fromStep` without calling a provider, then runs the rest like any run. It is
 * refused when a step it must run names a deleted agent (reused steps need none), when the
 * steps to reuse did not all succeed in the parent, or when the pipeline was archived.
 */
export async function submitBranch(deps: SubmissionDeps, branch: Branch): Promise<Submitted & { created: true }> {
  const { rows } = await deps.sql.query<{ pipelineId: string; archived: boolean; steps: BranchBasisStep[] }>(branchBasisSql, [branch.parentRunId]);
  const basis = rows[0];
  if (!basis) throw new RunNotFoundError(branch.parentRunId);
  if (basis.archived) throw new PipelineNotFoundError(basis.pipelineId);
  const { steps } = basis;
  if (branch.fromStep >= steps.length) {
    throw new BranchRefusedError(`fromStep ${branch.fromStep} is past the pipeline's last step (${steps.length - 1})`, 'invalid');
  }
  const notReusable = steps.filter((step) => step.index < branch.fromStep && step.parentStatus !== 'succeeded');
  if (notReusable.length > 0) {
    throw new BranchRefusedError(`step ${notReusable[0]!.index} of run ${branch.parentRunId} did not succeed: there is no output to reuse`, 'conflict');
  }
  const firstToRun = branch.output === undefined ? branch.fromStep : branch.fromStep + 1;
  for (const index of Object.keys(branch.overrides ?? {}).map(Number)) {
    const step = steps[index];
    if (!step || step.type !== 'agent' || index < firstToRun) {
      throw new BranchRefusedError(`overrides.${index}: not an agent step that this branch runs (it runs steps ${firstToRun} and later)`, 'invalid');
    }
  }
  const missing = [...new Set(steps.filter((step) => step.index >= firstToRun && step.type === 'agent' && !step.agentExists).map((step) => step.agentId!))];
  if (missing.length > 0) throw new PipelineOrphanedError(basis.pipelineId, missing);

  const id = newId('run');
  const { trace } = traceCarrier();
  const { rows: inserted } = await deps.sql.query<{ id: string; created_at: Date; max_cost_usd: string | null; steps: SubmittedStep[] }>({
    name: 'conveyor.runs.insert-branch',
    text: insertBranchSql,
    values: [
      id,
      branch.parentRunId,
      branch.input === undefined ? null : JSON.stringify(branch.input),
      branch.requestId ?? null,
      branch.fromStep,
      branch.overrides && Object.keys(branch.overrides).length > 0 ? JSON.stringify(branch.overrides) : null,
      branch.output ?? null,
      trace ? JSON.stringify(trace) : null,
    ],
  });
  const row = inserted[0];
  if (!row) throw new RunNotFoundError(branch.parentRunId);
  try {
    await enqueueRunBatched(deps.runsQueue, { runId: id, ...(branch.requestId ? { requestId: branch.requestId } : {}), ...(trace ? { trace } : {}) });
  } catch (error) {
    deps.logger.warn({ runId: id, err: error }, 'enqueue failed; the run stays queued for the reconciler');
  }
  return { created: true, runId: id, createdAt: row.created_at, maxCostUsd: row.max_cost_usd === null ? null : formatUsd(row.max_cost_usd), steps: row.steps };
}
