import { Batcher } from '@conveyor/core/db/batcher';
import type { SqlPool } from '@conveyor/core/db/client';

/** One run to insert as `queued`, with one pending step per step of its pipeline. */
export interface QueuedRunRow {
  id: string;
  pipelineId: string;
  /** JSON text. */
  input: string;
  /** JSON text or null. */
  metadata: string | null;
  webhookUrl: string | null;
  idempotencyKey: string | null;
  ttlSeconds: number | null;
  requestId: string | null;
}

export interface InsertedRun {
  createdAt: Date;
  steps: { index: number; agentId: string }[];
}

const MAX_BATCH = 200;
const MAX_STATEMENTS_IN_FLIGHT = 2;

/**
 * Inserts many runs in one statement: a run whose pipeline is missing or orphaned, or whose
 * idempotency key was used already, is skipped (the caller finds out why on its own).
 */
const insertBatchSql = `
  WITH req AS (
    SELECT * FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::jsonb[], $5::text[], $6::text[], $7::int[], $8::text[])
      AS r(id, pipeline_id, input, metadata, webhook_url, idempotency_key, ttl_seconds, request_id)
  ), orphaned AS (
    SELECT DISTINCT s.pipeline_id
    FROM pipeline_steps s LEFT JOIN agents a ON a.id = s.agent_id
    WHERE a.id IS NULL AND s.pipeline_id IN (SELECT pipeline_id FROM req)
  ), inserted AS (
    INSERT INTO runs (id, pipeline_id, status, input, metadata, webhook_url, idempotency_key, ttl_seconds, request_id, updated_at)
    SELECT r.id, r.pipeline_id, 'queued', r.input, r.metadata, r.webhook_url, r.idempotency_key, r.ttl_seconds, r.request_id, now()
    FROM req r JOIN pipelines p ON p.id = r.pipeline_id
    WHERE NOT EXISTS (SELECT 1 FROM orphaned o WHERE o.pipeline_id = r.pipeline_id)
    ON CONFLICT (pipeline_id, idempotency_key) DO NOTHING
    RETURNING id, pipeline_id, created_at
  ), inserted_steps AS (
    INSERT INTO run_steps (run_id, index, agent_id)
    SELECT i.id, s.index, s.agent_id FROM inserted i JOIN pipeline_steps s ON s.pipeline_id = i.pipeline_id
    RETURNING run_id, index, agent_id
  )
  SELECT i.id, i.created_at,
    coalesce(
      (SELECT json_agg(json_build_object('index', st.index, 'agentId', st.agent_id) ORDER BY st.index)
       FROM inserted_steps st WHERE st.run_id = i.id),
      '[]'::json
    ) AS steps
  FROM inserted i`;

/** Inserts the rows in one statement; the result for each row is its inserted run, or undefined if skipped. */
async function insertBatch(sql: SqlPool, batch: QueuedRunRow[]): Promise<Map<string, InsertedRun>> {
  // One lock order for every statement, so two batches never deadlock on the idempotency index.
  const rows = [...batch].sort((a, b) =>
    `${a.pipelineId}\u0000${a.idempotencyKey ?? ''}`.localeCompare(`${b.pipelineId}\u0000${b.idempotencyKey ?? ''}`),
  );
  const { rows: inserted } = await sql.query<{ id: string; created_at: Date; steps: InsertedRun['steps'] }>(insertBatchSql, [
    rows.map((r) => r.id),
    rows.map((r) => r.pipelineId),
    rows.map((r) => r.input),
    rows.map((r) => r.metadata),
    rows.map((r) => r.webhookUrl),
    rows.map((r) => r.idempotencyKey),
    rows.map((r) => r.ttlSeconds),
    rows.map((r) => r.requestId),
  ]);
  return new Map(inserted.map((r) => [r.id, { createdAt: r.created_at, steps: r.steps }]));
}

/**
 * Group commit for run submissions: while a statement is in flight, new submissions wait and
 * then go together in the next one, so one commit (one WAL flush) covers many runs.
 */
export type RunInsertBatcher = Batcher<string, QueuedRunRow, InsertedRun>;

const batchers = new WeakMap<SqlPool, RunInsertBatcher>();

/** One batcher per pool. */
export function runInsertBatcher(sql: SqlPool): RunInsertBatcher {
  let batcher = batchers.get(sql);
  if (!batcher) {
    batcher = new Batcher((rows) => insertBatch(sql, rows), (row) => row.id, { maxBatch: MAX_BATCH, maxInFlight: MAX_STATEMENTS_IN_FLIGHT });
    batchers.set(sql, batcher);
  }
  return batcher;
}
