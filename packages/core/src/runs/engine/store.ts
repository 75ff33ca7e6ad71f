import type { RunStatus, SqlPool, StepStatus } from '../../db/client.ts';
import type { ApprovalDecision, ApprovalSettings, StepOverrides, StepType } from './approval-types.ts';
import { formatUsd } from '../../catalog/cost.ts';
import { type BatcherOptions, Batcher } from '../../db/batcher.ts';
import { newId } from '../../ids.ts';
import type { RunEvent } from '../../events/types.ts';
import type { RunError } from '../../pipeline/errors.ts';
import type { TraceCarrier } from '../../telemetry/tracing.ts';
import type { ChatMessage, JsonSchema } from '../../providers/types.ts';
import { type AgentTool, defaultMaxTurns } from '../../tools/schema.ts';

/*
 * The SQL of a run's execution: one query to load it, one statement to start it (which
 * also freezes its snapshot), one per step to record it (starting the next step in the same
 * statement) and one to complete it with its artifact. This is the path every step of every
 * run takes, so it does no more round trips than that, and concurrent runs share them.
 * Every statement that ends a run also writes its outbox row (see outbox.ts).
 */

/** An agent as it was when the run was loaded: a run uses the same agents from its first step to its last. */
export interface AgentSnapshot {
  id: string;
  model: string;
  systemPrompt: string | null;
  temperature: number | null;
  maxTokens: number | null;
  /** Built-in names, HTTP tools and MCP servers (header values sealed). */
  tools: AgentTool[];
  outputSchema: JsonSchema | null;
  maxTurns: number;
  /** Tried in order when `model` still fails with a transient error after its retries. */
  fallbackModels: string[];
  cacheSystemPrompt: boolean;
}

/** A model call that failed (after its own retries) before another model answered. */
export interface FailedAttempt {
  provider: string;
  model: string;
  /** ProviderError.kind: rate_limited, overloaded, server_error, timeout, ... */
  kind: string;
  message: string;
  at: string;
}

/** What a step used and cost (zero and empty until it succeeds). */
export interface StepUsage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Exact decimal string; null when the model has no known price. */
  cost: string | null;
  warnings: string[];
  /** When the model call that answered was made (its price and spend day). */
  calledAt: Date | null;
  failedAttempts: FailedAttempt[];
  /** Milliseconds from the step's first model request to its first streamed token; null when unknown. */
  firstTokenMs: number | null;
}

export interface StoredStep extends StepUsage {
  index: number;
  type: StepType;
  /** Null for an approval step. */
  agentId: string | null;
  status: StepStatus;
  /** The pipeline step's prompt template. */
  prompt: string | null;
  output: string | null;
  /** `output` is the JSON text of a structured answer. */
  structured: boolean;
  provider: string | null;
  model: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  /** Null when the agent has been deleted (and for an approval step). */
  agent: AgentSnapshot | null;
  /** An approval step's settings (null for an agent step). */
  approval: ApprovalSettings | null;
  decision: ApprovalDecision | null;
  /** Copied from the parent run by a branch. */
  reused: boolean;
}

/** The pipeline and agents as a run uses them from its start to its end, resumes included. */
export interface RunSnapshot {
  pipelineName: string;
  maxDurationSeconds: number | null;
  steps: SnapshotStep[];
}

export interface SnapshotStep {
  index: number;
  /** Absent in snapshots taken before approval steps existed: `agent`. */
  type?: StepType;
  agentId: string | null;
  prompt: string | null;
  agent: AgentSnapshot | null;
  approval?: ApprovalSettings | null;
}

export interface StoredRun {
  id: string;
  pipelineId: string;
  pipelineName: string;
  /** True when the definitions below come from the snapshot taken when the run started. */
  snapshotted: boolean;
  status: RunStatus;
  input: unknown;
  metadata: unknown;
  ttlSeconds: number | null;
  scheduledFor: Date | null;
  cancelRequested: boolean;
  attempts: number;
  createdAt: Date;
  startedAt: Date | null;
  maxDurationSeconds: number | null;
  /** Time spent waiting at approval steps: it does not count toward the maximum duration. */
  waitedMs: number;
  /** When the run waits at an approval step with a timeout: when it times out. */
  waitingUntil: Date | null;
  /** The run's budget in USD (decimal string); null: none. */
  maxCostUsd: string | null;
  /** The run's own webhook URL, else its pipeline's. */
  webhookUrl: string | null;
  steps: StoredStep[];
}

/** Which runs an end applies to: any that has not ended, those no worker holds (queued or waiting), or waiting ones. */
export type EndFrom = 'any' | 'idle' | 'waiting';

/** A run waiting at an approval step. */
export interface WaitingRun {
  id: string;
  requestId: string | null;
  index: number;
  waitingUntil: Date | null;
  webhookUrl: string | null;
}

/** How a run ends other than by succeeding. */
/** `partialOutput`: what the step in flight had streamed when the run ended; kept as that step's output. */
export type EndOutcome = ({ status: 'failed'; error: RunError } | { status: 'canceled' }) & { partialOutput?: string };

export type StartResult = { started: 'fresh' | 'resumed'; startedAt: Date } | { started: false };

/** A step about to start: the provider and model it calls. */
export interface StepStart {
  index: number;
  provider: string;
  model: string;
}

/** A step that has succeeded. */
export interface StepRecord extends StepUsage {
  index: number;
  /** The provider and model that answered (a fallback's when the step's own model failed). */
  provider: string;
  model: string;
  output: string;
  /** `output` is the JSON text of a structured answer. */
  structured?: boolean;
  /** The step made its model calls as recorded turns (a tool loop): spend counts them by turn. */
  spentInTurns?: boolean;
  finishedAt: Date;
}

/** One model turn of a step that acts, as it finished. */
export interface TurnRecord {
  /** 1-based. */
  turn: number;
  provider: string;
  model: string;
  /** The assistant message (text and tool calls) as it goes back to the model. */
  message: ChatMessage;
  stopReason: string;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  cost: string | null;
  warnings: string[];
  /** Milliseconds from the answering request to its first streamed token; null when unknown. */
  firstTokenMs: number | null;
  /** When the answering model call was made: its price and its spend day. */
  calledAt: Date;
  finishedAt: Date;
}

/** One tool call of a turn, with its result. */
export interface ToolCallRecord {
  turn: number;
  /** Its place among the turn's calls (0-based). */
  position: number;
  toolCallId: string;
  name: string;
  input: unknown;
  /** What the model read. */
  output: string;
  /** The result as JSON, when it was JSON. */
  outputJson?: unknown;
  isError: boolean;
  durationMs: number;
  warnings: string[];
  finishedAt: Date;
}

export interface StoredTurn extends TurnRecord {
  toolCalls: ToolCallRecord[];
}

export interface Completion {
  /** The last step's output: its text, or the JSON value of a structured answer. */
  output: unknown;
  inputTokens: number;
  outputTokens: number;
  cost: string | null;
  finishedAt: Date;
  pipelineName: string;
  artifactData: unknown;
  models: string[];
  durationMs: number;
  /** The id of the artifact it writes (a new one when absent). */
  artifactId?: string;
  /** The run's event history with its terminal event, when this process holds all of it (see RunEventStream.reserveId). */
  history?: RunEvent[];
}

/** What the run looks like right after a step was recorded. */
export interface RunState {
  status: RunStatus;
  cancelRequested: boolean;
}

const liveDefinition = `json_build_object(
    'pipelineName', p.name, 'maxDurationSeconds', p.max_duration_seconds,
    'steps', COALESCE((
      SELECT json_agg(json_build_object(
        'index', s.index, 'type', s.type, 'agentId', s.agent_id, 'prompt', ps.prompt, 'approval', ps.approval,
        'agent', CASE WHEN a.id IS NULL THEN NULL ELSE json_build_object(
          'id', a.id, 'model', a.model, 'systemPrompt', a.system_prompt, 'temperature', a.temperature::float8,
          'maxTokens', a.max_tokens, 'tools', a.tools, 'outputSchema', a.output_schema, 'maxTurns', a.max_turns,
          'fallbackModels', a.fallback_models, 'cacheSystemPrompt', a.cache_system_prompt) END
      ) ORDER BY s.index)
      FROM run_steps s
      LEFT JOIN pipeline_steps ps ON ps.pipeline_id = r.pipeline_id AND ps.index = s.index
      LEFT JOIN agents a ON a.id = s.agent_id
      WHERE s.run_id = r.id
    ), '[]'::json))`;

/** A run with its steps' state, and its definitions: the snapshot once it has started, else the live pipeline and agents. */
const loadRuns = `
SELECT r.id, r.pipeline_id AS "pipelineId", r.status, r.input, r.metadata, r.ttl_seconds AS "ttlSeconds",
  r.scheduled_for AS "scheduledFor", r.cancel_requested AS "cancelRequested", r.attempts, r.max_cost_usd::text AS "maxCostUsd",
  r.created_at AS "createdAt", r.started_at AS "startedAt",
  COALESCE(r.webhook_url, p.webhook_url) AS "webhookUrl", r.snapshot IS NOT NULL AS snapshotted,
  r.waited_ms::float8 AS "waitedMs", r.waiting_until AS "waitingUntil", r.step_overrides AS "stepOverrides",
  CASE WHEN r.snapshot IS NULL THEN ${liveDefinition} ELSE r.snapshot::json END AS definition,
  COALESCE((
    SELECT json_agg(json_build_object(
      'index', s.index, 'type', s.type, 'agentId', s.agent_id, 'status', s.status, 'output', s.output, 'structured', s.structured,
      'decision', s.decision, 'reused', s.reused,
      'provider', s.provider, 'model', s.model, 'inputTokens', s.input_tokens, 'outputTokens', s.output_tokens,
      'cacheReadTokens', s.cache_read_tokens, 'cacheWriteTokens', s.cache_write_tokens, 'cost', s.cost::text,
      'warnings', s.warnings, 'startedAt', s.started_at, 'finishedAt', s.finished_at, 'calledAt', s.called_at, 'firstTokenMs', s.first_token_ms,
      'failedAttempts', COALESCE(s.failed_attempts, '[]'::jsonb)
    ) ORDER BY s.index)
    FROM run_steps s WHERE s.run_id = r.id
  ), '[]'::json) AS steps
FROM runs r JOIN pipelines p ON p.id = r.pipeline_id
WHERE r.id = ANY($1::text[])`;

/*
 * The statements below take a batch of runs as one JSON array (jsonb_to_recordset), one
 * element per run. Each run in a batch is distinct (the batcher sees to it).
 */

/**
 * `$2` is the batch's length. Postgres guesses 100 rows for jsonb_to_recordset, which against
 * a small run_steps makes a hash join over a sequential scan cheaper than one primary-key probe
 * per run. The limit gives a custom plan (the first five executions) the true size, and a
 * generic plan a small one (a tenth of the guess).
 */
const batchSize = 'LIMIT $2::int';

/** How long a settle mark waits for others to share its statement. */
const settleLingerMs = 50;

const stepColumns = `run_id text, step_index int, at timestamptz, provider text, model text, output text, structured boolean,
  input_tokens int, output_tokens int, cache_read_tokens int, cache_write_tokens int, cost numeric, warnings text[],
  called_at timestamptz, failed_attempts jsonb, first_token_ms int, spent_in_turns boolean`;

/** Marks each run running (fresh, or resumed by a retried job) and, when given, its first step to run. */
const startRuns = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(run_id text, at timestamptz, step_index int, provider text, model text, snapshot jsonb)
  ${batchSize}
), fresh AS (
  UPDATE runs r SET status = 'running', started_at = input.at, attempts = r.attempts + 1, updated_at = input.at,
    snapshot = COALESCE(r.snapshot, input.snapshot)
  FROM input WHERE r.id = input.run_id AND r.status = 'queued' AND NOT r.cancel_requested
  RETURNING r.id, r.started_at, true AS fresh
), resumed AS (
  UPDATE runs r SET attempts = r.attempts + 1, updated_at = input.at, snapshot = COALESCE(r.snapshot, input.snapshot)
  FROM input WHERE r.id = input.run_id AND r.status = 'running'
  RETURNING r.id, r.started_at, false AS fresh
), started AS (
  SELECT * FROM fresh UNION ALL SELECT * FROM resumed
), step AS (
  UPDATE run_steps s SET status = 'running', provider = input.provider, model = input.model, started_at = input.at, error = NULL
  FROM input JOIN started ON started.id = input.run_id
  WHERE s.run_id = input.run_id AND s.index = input.step_index
  RETURNING s.run_id
)
SELECT id, started_at AS "startedAt", fresh FROM started`;

const succeedSteps = `
UPDATE run_steps s SET status = 'succeeded', provider = COALESCE(input.provider, s.provider), model = COALESCE(input.model, s.model),
  output = input.output, structured = COALESCE(input.structured, false), input_tokens = input.input_tokens,
  called_at = input.called_at, failed_attempts = input.failed_attempts, first_token_ms = input.first_token_ms,
  pipeline_id = (SELECT r.pipeline_id FROM runs r WHERE r.id = s.run_id), spent_in_turns = COALESCE(input.spent_in_turns, false),
  output_tokens = input.output_tokens, cache_read_tokens = input.cache_read_tokens,
  cache_write_tokens = input.cache_write_tokens, cost = input.cost, warnings = COALESCE(input.warnings, '{}'),
  finished_at = input.at
FROM input WHERE s.run_id = input.run_id AND s.index = input.step_index AND s.status = 'running'
RETURNING s.run_id`;

/** Records each step and starts the run's next one unless the run was canceled or ended meanwhile. */
const recordSteps = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(${stepColumns}, next_index int, next_provider text, next_model text)
  ${batchSize}
), done AS (${succeedSteps}
), live AS (
  SELECT r.id, r.status, r.cancel_requested FROM runs r JOIN input ON input.run_id = r.id
), next AS (
  UPDATE run_steps s SET status = 'running', provider = input.next_provider, model = input.next_model,
    started_at = input.at, error = NULL
  FROM input JOIN live ON live.id = input.run_id
  WHERE live.status = 'running' AND NOT live.cancel_requested AND s.run_id = input.run_id AND s.index = input.next_index
  RETURNING s.run_id
)
SELECT id, status, cancel_requested AS "cancelRequested" FROM live`;

/**
 * Records each run's last step, marks the run succeeded and writes its artifact, all or
 * nothing. The run must still be running and (when a step is given) that step too, and
 * the artifact's run id is unique: however often this runs for a run, at most one artifact exists.
 */
const completeRuns = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(${stepColumns}, run_output jsonb, run_input_tokens int,
    run_output_tokens int, run_cost numeric, artifact_id text, pipeline_name text, artifact_data jsonb, models text[],
    duration_ms int, history jsonb)
  ${batchSize}
), done AS (${succeedSteps}
), run AS (
  UPDATE runs r SET status = 'succeeded', output = input.run_output, input_tokens = input.run_input_tokens,
    output_tokens = input.run_output_tokens, cost = input.run_cost, finished_at = input.at, updated_at = input.at
  FROM input
  WHERE r.id = input.run_id AND r.status = 'running'
    AND (input.step_index IS NULL OR EXISTS (SELECT 1 FROM done WHERE done.run_id = input.run_id))
  RETURNING r.id, r.pipeline_id, r.created_at, r.webhook_url
), outbox AS (
  INSERT INTO run_outbox (run_id, event, webhook_url, created_at)
  SELECT run.id, 'run.succeeded', COALESCE(run.webhook_url, p.webhook_url), input.at
  FROM run JOIN input ON input.run_id = run.id JOIN pipelines p ON p.id = run.pipeline_id
), history AS (
  INSERT INTO run_event_histories (run_id, events)
  SELECT run.id, input.history FROM run JOIN input ON input.run_id = run.id WHERE input.history IS NOT NULL
  ON CONFLICT (run_id) DO UPDATE SET events = EXCLUDED.events
)
INSERT INTO artifacts (id, run_id, pipeline_id, pipeline_name, artifact_data, cost, input_tokens, output_tokens, models,
  run_created_at, duration_ms, created_at)
SELECT input.artifact_id, run.id, run.pipeline_id, input.pipeline_name, input.artifact_data, input.run_cost,
  input.run_input_tokens, input.run_output_tokens, input.models, run.created_at, input.duration_ms, input.at
FROM run JOIN input ON input.run_id = run.id
ON CONFLICT (run_id) DO NOTHING
RETURNING run_id AS "runId", id`;


/**
 * Ends a run that is still queued or running as `failed` or `canceled`, in one statement (so
 * atomically): the step in flight gets the same status, steps never started become
 * `canceled`, the run keeps the usage and cost of its finished steps, and its outbox row is
 * written. Returns nothing when the run had ended already.
 */
const endRunSql = `
WITH turn_sums AS (
  SELECT t.step_index, sum(t.input_tokens)::int AS input_tokens, sum(t.output_tokens)::int AS output_tokens,
    sum(t.cache_read_tokens)::int AS cache_read_tokens, sum(t.cache_write_tokens)::int AS cache_write_tokens, sum(t.cost) AS cost,
    max(t.called_at) AS last_called_at
  FROM run_step_turns t JOIN run_steps s ON s.run_id = t.run_id AND s.index = t.step_index AND s.status = 'running'
  WHERE t.run_id = $1
  GROUP BY t.step_index
), billed AS (
  SELECT s.input_tokens, s.output_tokens, s.cost FROM run_steps s WHERE s.run_id = $1 AND s.status = 'succeeded'
  UNION ALL
  SELECT input_tokens, output_tokens, cost FROM turn_sums
), ended AS (
  UPDATE runs r SET status = $2::text::"RunStatus", finished_at = $3, updated_at = $3, error = $4::jsonb,
    cancel_requested = r.cancel_requested OR $2::text = 'canceled',
    waited_ms = r.waited_ms + ${waitedSoFar('$3')}, waiting_since = NULL, waiting_until = NULL,
    input_tokens = COALESCE((SELECT sum(input_tokens) FROM billed), 0),
    output_tokens = COALESCE((SELECT sum(output_tokens) FROM billed), 0),
    cost = (SELECT sum(cost) FROM billed)
  WHERE r.id = $1 AND CASE $6::text
    WHEN 'waiting' THEN r.status = 'waiting'
    WHEN 'idle' THEN r.status IN ('queued', 'waiting')
    ELSE r.status IN ('queued', 'waiting', 'running') END
  RETURNING r.id, r.pipeline_id, r.webhook_url
), in_flight AS (
  -- A step that ends in the middle of a tool loop keeps what its finished turns used and cost.
  -- Spend counts that cost by turn, each at its own call; the step itself counts at its last turn.
  UPDATE run_steps s SET status = $2::text::"StepStatus", finished_at = $3,
    called_at = CASE WHEN ts.step_index IS NULL THEN s.called_at ELSE ts.last_called_at END,
    pipeline_id = CASE WHEN ts.step_index IS NULL THEN s.pipeline_id ELSE ended.pipeline_id END,
    spent_in_turns = s.spent_in_turns OR ts.step_index IS NOT NULL,
    error = CASE WHEN $5::boolean THEN $4::jsonb ELSE s.error END,
    input_tokens = COALESCE(ts.input_tokens, s.input_tokens), output_tokens = COALESCE(ts.output_tokens, s.output_tokens),
    cache_read_tokens = COALESCE(ts.cache_read_tokens, s.cache_read_tokens),
    cache_write_tokens = COALESCE(ts.cache_write_tokens, s.cache_write_tokens),
    cost = CASE WHEN ts.step_index IS NULL THEN s.cost ELSE ts.cost END,
    decision = CASE WHEN s.status = 'waiting' THEN COALESCE($7::jsonb, s.decision) ELSE s.decision END,
    output = CASE WHEN s.status = 'running' AND $8::text IS NOT NULL THEN $8::text ELSE s.output END
  FROM ended LEFT JOIN turn_sums ts ON true
  WHERE s.run_id = ended.id AND s.status IN ('running', 'waiting') AND (ts.step_index IS NULL OR ts.step_index = s.index)
), never_started AS (
  UPDATE run_steps s SET status = 'canceled' FROM ended WHERE s.run_id = ended.id AND s.status = 'pending'
)
INSERT INTO run_outbox (run_id, event, webhook_url, created_at)
SELECT ended.id, 'run.' || $2::text, COALESCE(ended.webhook_url, p.webhook_url), $3
FROM ended JOIN pipelines p ON p.id = ended.pipeline_id
RETURNING webhook_url AS "webhookUrl"`;

/** Milliseconds a waiting run has waited by `at` (0 when it is not waiting). */
function waitedSoFar(at: string): string {
  return `COALESCE(GREATEST(0, round(extract(epoch FROM (${at}::timestamptz - r.waiting_since)) * 1000))::bigint, 0)`;
}

/**
 * A running run reaches an approval step: it waits, holding no worker, with the output so far
 * kept on the step (an approval without an edited output passes it on). Nothing happens to a
 * run that is no longer running or has a cancel request.
 */
const waitSql = `
WITH run AS (
  UPDATE runs r SET status = 'waiting', waiting_since = $3, waiting_until = $4, updated_at = $3
  WHERE r.id = $1 AND r.status = 'running' AND NOT r.cancel_requested
  RETURNING r.id, r.pipeline_id, r.webhook_url
), step AS (
  UPDATE run_steps s SET status = 'waiting', output = $5, started_at = $3, finished_at = NULL, error = NULL
  FROM run WHERE s.run_id = run.id AND s.index = $2
  RETURNING s.index
)
SELECT COALESCE(run.webhook_url, p.webhook_url) AS "webhookUrl" FROM run JOIN pipelines p ON p.id = run.pipeline_id`;

/**
 * Approves the approval step a run waits at: the step succeeds with the output (the edited
 * one, else the output so far) and the decision, the time waited is added up, and the run is
 * running again (for a worker to resume). Returns nothing when the run was not waiting there.
 */
const approveSql = `
WITH run AS (
  UPDATE runs r SET status = 'running', waited_ms = r.waited_ms + ${waitedSoFar('$2')}, waiting_since = NULL,
    waiting_until = NULL, updated_at = $2
  WHERE r.id = $1 AND r.status = 'waiting'
    AND ($5::int IS NULL OR EXISTS (SELECT 1 FROM run_steps w WHERE w.run_id = r.id AND w.index = $5 AND w.status = 'waiting'))
  RETURNING r.id, r.request_id, r.trace_context
), step AS (
  UPDATE run_steps s SET status = 'succeeded', output = COALESCE($3, s.output), decision = $4::jsonb, finished_at = $2
  FROM run WHERE s.run_id = run.id AND s.status = 'waiting'
  RETURNING s.index, s.output
)
SELECT run.id, run.request_id AS "requestId", run.trace_context AS "traceContext", step.index, step.output FROM run LEFT JOIN step ON true`;

/** Runs waiting at an approval step, by id after $1: the waiting step and its timeout. */
const waitingRunsSql = `
SELECT r.id, r.request_id AS "requestId", r.waiting_until AS "waitingUntil", s.index,
  COALESCE(r.webhook_url, p.webhook_url) AS "webhookUrl"
FROM runs r JOIN pipelines p ON p.id = r.pipeline_id
JOIN run_steps s ON s.run_id = r.id AND s.status = 'waiting'
WHERE r.status = 'waiting' AND r.id > $1
ORDER BY r.id LIMIT $2`;

/** The statuses of the runs named, those that exist. */
const runStatusesSql = 'SELECT id, status FROM runs WHERE id = ANY($1::text[])';

/** A run's status and the approval step it waits at, if any. */
const waitStateSql = `
SELECT r.status, (SELECT s.index FROM run_steps s WHERE s.run_id = r.id AND s.status = 'waiting' LIMIT 1) AS index
FROM runs r WHERE r.id = $1`;

/** Flags a running run for cancellation; tells what the run's status was. */
const requestCancelSql = `
WITH flagged AS (
  UPDATE runs SET cancel_requested = true, updated_at = $2 WHERE id = $1 AND status = 'running' RETURNING id
)
SELECT r.status, EXISTS (SELECT 1 FROM flagged) AS flagged FROM runs r WHERE r.id = $1`;

const keptEventsSql = 'SELECT events FROM run_event_histories WHERE run_id = $1';
/** A history only grows: one kept later (the run's end, written meanwhile by another worker) is never replaced by a shorter one. */
const keepEventsSql = `INSERT INTO run_event_histories (run_id, events) SELECT id, $2::jsonb FROM runs WHERE id = $1
ON CONFLICT (run_id) DO UPDATE SET events = EXCLUDED.events
WHERE jsonb_array_length(run_event_histories.events) < jsonb_array_length(EXCLUDED.events)`;

/** The approval step a run was waiting at, approved: the run is running again. */
export interface ApprovedStep {
  requestId: string | null;
  /** The submitting request's trace context: the resumed attempt continues that trace. */
  traceContext: TraceCarrier | null;
  index: number;
  output: string;
}

export interface ActiveRun {
  id: string;
  requestId: string | null;
  traceContext: TraceCarrier | null;
  scheduledFor: Date | null;
}

/** Runs Postgres calls queued or running and that have not changed for a while: each must have a job. */
const activeRunsSql = `
SELECT id, request_id AS "requestId", trace_context AS "traceContext", scheduled_for AS "scheduledFor" FROM runs
WHERE status IN ('queued', 'running') AND updated_at < $1 AND id > $2
ORDER BY id LIMIT $3`;

/**
 * Outbox rows whose effects nobody reported done within the lease: their process died
 * between ending the run and emitting its effects. Taking them renews the lease, so two
 * reconcilers never take the same row at once.
 */
const takeStaleOutboxSql = `
UPDATE run_outbox o SET created_at = $2
FROM (
  SELECT run_id, event FROM run_outbox WHERE effects_done_at IS NULL AND created_at < $1
  ORDER BY created_at LIMIT $3 FOR UPDATE SKIP LOCKED
) stale
WHERE o.run_id = stale.run_id AND o.event = stale.event
RETURNING o.run_id AS "runId", o.event, o.webhook_url AS "webhookUrl"`;

/** Outbox rows whose effects are out and whose webhook has not reached a final outcome. */
const pendingWebhooksSql = `
SELECT run_id AS "runId", event FROM run_outbox
WHERE effects_done_at IS NOT NULL AND webhook_url IS NOT NULL AND (run_id, event) > ($1, $2)
ORDER BY run_id, event LIMIT $3`;

/**
 * Effects done: the run keeps its event history (the live ids, for clients once the stream
 * expires); a row without a webhook is finished and goes; a row with one stays, marked,
 * until its webhook reaches a final outcome.
 */
const settleOutboxSql = `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(run_id text, event text, history jsonb)
  ${batchSize}
), history AS (
  INSERT INTO run_event_histories (run_id, events)
  SELECT input.run_id, input.history FROM input WHERE input.history IS NOT NULL
  ON CONFLICT (run_id) DO UPDATE SET events = EXCLUDED.events
), gone AS (
  DELETE FROM run_outbox o USING input
  WHERE o.run_id = input.run_id AND o.event = input.event AND o.webhook_url IS NULL
  RETURNING o.run_id
)
UPDATE run_outbox o SET effects_done_at = now() FROM input
WHERE o.run_id = input.run_id AND o.event = input.event AND o.webhook_url IS NOT NULL
RETURNING o.run_id`;

const finishWebhookSql = `DELETE FROM run_outbox WHERE run_id = $1 AND event = $2`;

/** A step's recorded turns, each with its finished tool calls. */
const loadTurnsSql = `
SELECT t.turn, t.provider, t.model, t.message, t.stop_reason AS "stopReason", t.input_tokens AS "inputTokens",
  t.output_tokens AS "outputTokens", t.cache_read_tokens AS "cacheReadTokens", t.cache_write_tokens AS "cacheWriteTokens",
  t.cost::text AS cost, t.warnings, t.first_token_ms AS "firstTokenMs", t.called_at AS "calledAt", t.finished_at AS "finishedAt",
  COALESCE((
    SELECT json_agg(json_build_object(
      'turn', c.turn, 'position', c.position, 'toolCallId', c.tool_call_id, 'name', c.name, 'input', c.input,
      'output', c.output, 'outputJson', c.output_json, 'isError', c.is_error, 'durationMs', c.duration_ms,
      'warnings', c.warnings, 'finishedAt', c.finished_at
    ) ORDER BY c.position)
    FROM run_tool_calls c WHERE c.run_id = t.run_id AND c.step_index = t.step_index AND c.turn = t.turn
  ), '[]'::json) AS "toolCalls"
FROM run_step_turns t WHERE t.run_id = $1 AND t.step_index = $2
ORDER BY t.turn`;

/**
 * Records turns (or tool calls) of steps that are still running, once each, and tells each
 * run's state: a run canceled or ended meanwhile stops its loop.
 */
const recordingInto = (insert: string) => `
WITH input AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(run_id text, step_index int, turn int, position int, tool_call_id text,
    name text, input jsonb, output text, output_json jsonb, is_error boolean, duration_ms int, provider text, model text,
    message jsonb, stop_reason text, input_tokens int, output_tokens int, cache_read_tokens int, cache_write_tokens int,
    cost numeric, warnings text[], first_token_ms int, called_at timestamptz, finished_at timestamptz)
  WHERE EXISTS (SELECT 1 FROM run_steps s WHERE s.run_id = v.run_id AND s.index = v.step_index AND s.status = 'running')
  ${batchSize}
), recorded AS (${insert}
)
SELECT r.id, r.status, r.cancel_requested AS "cancelRequested" FROM runs r WHERE r.id IN (SELECT run_id FROM input)`;

/** Each turn is written with its call time and its run's pipeline: spend reads turns from their own index alone. */
const recordTurnsSql = recordingInto(`
  INSERT INTO run_step_turns (run_id, step_index, turn, provider, model, message, stop_reason, input_tokens, output_tokens,
    cache_read_tokens, cache_write_tokens, cost, warnings, first_token_ms, called_at, pipeline_id, finished_at)
  SELECT input.run_id, input.step_index, input.turn, input.provider, input.model, input.message, input.stop_reason,
    input.input_tokens, input.output_tokens, input.cache_read_tokens, input.cache_write_tokens, input.cost,
    COALESCE(input.warnings, '{}'), input.first_token_ms, input.called_at, r.pipeline_id, input.finished_at
  FROM input JOIN runs r ON r.id = input.run_id
  ON CONFLICT DO NOTHING`);

const recordToolCallsSql = recordingInto(`
  INSERT INTO run_tool_calls (run_id, step_index, turn, position, tool_call_id, name, input, output, output_json, is_error,
    duration_ms, warnings, finished_at)
  SELECT run_id, step_index, turn, position, tool_call_id, name, input, output, output_json, is_error,
    duration_ms, COALESCE(warnings, '{}'), finished_at FROM input
  ON CONFLICT DO NOTHING`);

type StepStateJson = Omit<StoredStep, 'startedAt' | 'finishedAt' | 'calledAt' | 'agent' | 'prompt' | 'approval'> & {
  startedAt: string | null;
  finishedAt: string | null;
  calledAt: string | null;
};

/** An agent as loaded: snapshots taken before agents had tools objects, an output schema, maxTurns, fallbacks or prompt caching lack them. */
function agentOf(
  agent: (Omit<AgentSnapshot, 'outputSchema' | 'maxTurns' | 'fallbackModels' | 'cacheSystemPrompt'> & Partial<AgentSnapshot>) | null | undefined,
): AgentSnapshot | null {
  if (!agent) return null;
  return {
    ...agent,
    tools: agent.tools ?? [],
    outputSchema: agent.outputSchema ?? null,
    maxTurns: agent.maxTurns ?? defaultMaxTurns,
    fallbackModels: agent.fallbackModels ?? [],
    cacheSystemPrompt: agent.cacheSystemPrompt ?? false,
  };
}

type RunRow = Omit<StoredRun, 'steps' | 'pipelineName' | 'maxDurationSeconds'> & {
  definition: RunSnapshot;
  steps: StepStateJson[];
  stepOverrides: StepOverrides | null;
};

const date = (value: string | null) => (value === null ? null : new Date(value));

/** A branch's overrides, applied to the live agents before the run takes its snapshot. */
function overridden(agent: AgentSnapshot | null, override: StepOverrides[string] | undefined): AgentSnapshot | null {
  if (!agent || !override) return agent;
  return {
    ...agent,
    ...(override.model !== undefined ? { model: override.model } : {}),
    ...(override.systemPrompt !== undefined ? { systemPrompt: override.systemPrompt } : {}),
  };
}

function toStoredRun({ definition, steps, stepOverrides, ...row }: RunRow): StoredRun {
  const definitions = new Map(definition.steps.map((step) => [step.index, step]));
  const overrides = row.snapshotted ? {} : (stepOverrides ?? {});
  return {
    ...row,
    waitingUntil: row.waitingUntil === null ? null : new Date(row.waitingUntil),
    pipelineName: definition.pipelineName,
    maxDurationSeconds: definition.maxDurationSeconds,
    maxCostUsd: row.maxCostUsd === null ? null : formatUsd(row.maxCostUsd),
    steps: steps.map((step) => ({
      ...step,
      type: step.type ?? 'agent',
      prompt: definitions.get(step.index)?.prompt ?? null,
      agent: overridden(agentOf(definitions.get(step.index)?.agent), overrides[String(step.index)]),
      approval: definitions.get(step.index)?.approval ?? null,
      calledAt: date(step.calledAt),
      cost: step.cost === null ? null : formatUsd(step.cost),
      startedAt: date(step.startedAt),
      finishedAt: date(step.finishedAt),
    })),
  };
}

function stepJson(runId: string, step: StepRecord | undefined, at: Date) {
  return {
    run_id: runId,
    step_index: step?.index ?? null,
    at: at.toISOString(),
    provider: step?.provider ?? null,
    model: step?.model ?? null,
    output: step?.output ?? null,
    structured: step?.structured ?? false,
    input_tokens: step?.inputTokens ?? 0,
    output_tokens: step?.outputTokens ?? 0,
    cache_read_tokens: step?.cacheReadTokens ?? 0,
    cache_write_tokens: step?.cacheWriteTokens ?? 0,
    cost: step?.cost ?? null,
    warnings: step?.warnings ?? [],
    called_at: step?.calledAt?.toISOString() ?? null,
    failed_attempts: step && step.failedAttempts.length > 0 ? step.failedAttempts : null,
    first_token_ms: step?.firstTokenMs ?? null,
    spent_in_turns: step?.spentInTurns ?? false,
  };
}

/** One run's row of a batch statement's JSON input. */
interface Keyed {
  run_id: string;
  [column: string]: unknown;
}

/**
 * Concurrent runs' statements of the same kind are batched (see Batcher): under load, one
 * statement and one commit serve many runs.
 */
export class RunStore {
  readonly #loads: Batcher<string, string, StoredRun>;
  readonly #statuses: Batcher<string, string, RunStatus>;
  readonly #starts: Batcher<string, Keyed, { startedAt: Date; fresh: boolean }>;
  readonly #records: Batcher<string, Keyed, RunState>;
  readonly #completions: Batcher<string, Keyed, string>;
  readonly #settlements: Batcher<string, Keyed, string>;
  readonly #turns: Batcher<string, Keyed, RunState>;
  readonly #toolCalls: Batcher<string, Keyed, RunState>;

  /**
   * By default one statement of each kind is in flight: what arrives meanwhile goes in the next
   * one. Fewer, larger statements cost Postgres less than two smaller ones in flight (measured:
   * about 15 % more steps per second from one worker, with the same makespan).
   */
  constructor(private readonly pool: SqlPool, batching: BatcherOptions = {}) {
    const options = { maxInFlight: 1, ...batching };
    this.#loads = new Batcher(
      async (ids) => {
        const { rows } = await this.pool.query<RunRow>({ name: 'conveyor.runs.load', text: loadRuns, values: [ids] });
        return new Map(rows.map((row) => [row.id, toStoredRun(row)]));
      },
      (id) => id,
      options,
    );
    // Asked for every client that opens a run's event stream: a thousand reconnecting at once are a few statements.
    this.#statuses = new Batcher(
      async (ids) => {
        const { rows } = await this.pool.query<{ id: string; status: RunStatus }>({ name: 'conveyor.runs.status', text: runStatusesSql, values: [ids] });
        return new Map(rows.map((row) => [row.id, row.status]));
      },
      (id) => id,
      options,
    );
    this.#starts = this.#batcher('conveyor.runs.start', startRuns, (row: { id: string; startedAt: Date; fresh: boolean }) => [row.id, row], options);
    this.#records = this.#batcher('conveyor.runs.record-step', recordSteps, (row: RunState & { id: string }) => [row.id, { status: row.status, cancelRequested: row.cancelRequested }], options);
    this.#completions = this.#batcher('conveyor.runs.complete', completeRuns, (row: { runId: string; id: string }) => [row.runId, row.id], options);
    // Nobody waits for a run end to be marked settled: the marks of many runs go in one statement.
    this.#settlements = this.#batcher('conveyor.runs.settle', settleOutboxSql, (row: { run_id: string }) => [row.run_id, row.run_id], {
      ...options,
      maxBatch: 500,
      lingerMs: settleLingerMs,
    });
    const state = (row: RunState & { id: string }): [string, RunState] => [row.id, { status: row.status, cancelRequested: row.cancelRequested }];
    this.#turns = this.#batcher('conveyor.runs.record-turns', recordTurnsSql, state, options);
    // A run's parallel tool calls finish together: the batch holds one per run (the key), the rest follow in the next.
    this.#toolCalls = this.#batcher('conveyor.runs.record-tool-calls', recordToolCallsSql, state, options);
  }

  /**
   * Batch statements are prepared by name: their text is sent and parsed once per connection,
   * and Postgres keeps their plan (see createDatabase).
   */
  #batcher<Row, R>(name: string, text: string, entry: (row: Row) => [string, R], options: BatcherOptions): Batcher<string, Keyed, R> {
    return new Batcher(
      async (items) => {
        const { rows } = await this.pool.query({ name, text, values: [JSON.stringify(items), items.length] });
        return new Map((rows as Row[]).map(entry));
      },
      (item) => item.run_id,
      options,
    );
  }

  load(runId: string): Promise<StoredRun | undefined> {
    return this.#loads.add(runId);
  }

  /** The run's status; undefined when there is no such run. */
  status(runId: string): Promise<RunStatus | undefined> {
    return this.#statuses.add(runId);
  }

  /**
   * Marks the run running and `first` (when the run has a step left) running, and keeps
   * `snapshot` as the run's definitions unless it has one already.
   */
  async start(runId: string, first: StepStart | undefined, now: Date, snapshot?: RunSnapshot): Promise<StartResult> {
    const row = await this.#starts.add({
      run_id: runId,
      at: now.toISOString(),
      step_index: first?.index ?? null,
      provider: first?.provider ?? null,
      model: first?.model ?? null,
      snapshot: snapshot ?? null,
    });
    if (!row) return { started: false };
    return { started: row.fresh ? 'fresh' : 'resumed', startedAt: row.startedAt ?? now };
  }

  /** Records a succeeded step and starts `next`; returns the run's state, or undefined if the run is gone. */
  recordStep(runId: string, step: StepRecord, next: StepStart | undefined): Promise<RunState | undefined> {
    return this.#records.add({
      ...stepJson(runId, step, step.finishedAt),
      next_index: next?.index ?? null,
      next_provider: next?.provider ?? null,
      next_model: next?.model ?? null,
    });
  }

  /** Records the last step (if any is left) and completes the run; returns the artifact id, or undefined if the run was no longer running. */
  complete(runId: string, last: StepRecord | undefined, completion: Completion): Promise<string | undefined> {
    return this.#completions.add({
      ...stepJson(runId, last, completion.finishedAt),
      run_output: completion.output,
      run_input_tokens: completion.inputTokens,
      run_output_tokens: completion.outputTokens,
      run_cost: completion.cost,
      artifact_id: completion.artifactId ?? newId('art'),
      pipeline_name: completion.pipelineName,
      artifact_data: completion.artifactData,
      models: completion.models,
      duration_ms: completion.durationMs,
      history: completion.history ?? null,
    });
  }
  /**
   * Ends a run that has not ended, from the states `from` allows (`idle`: queued or waiting,
   * held by no worker; `waiting`: waiting only); `ended: false` when it was not in such a state.
   * `decision` is kept on the approval step the run waited at, if any.
   */
  async end(
    runId: string,
    outcome: EndOutcome,
    now: Date,
    from: EndFrom = 'any',
    decision?: ApprovalDecision,
  ): Promise<{ ended: false } | { ended: true; webhookUrl: string | null }> {
    const error = outcome.status === 'failed' ? JSON.stringify(outcome.error) : null;
    const stepError = outcome.status === 'failed' && outcome.error.step !== undefined;
    const { rows } = await this.pool.query<{ webhookUrl: string | null }>({
      name: 'conveyor.runs.end',
      text: endRunSql,
      values: [runId, outcome.status, now, error, stepError, from, decision ? JSON.stringify(decision) : null, outcome.partialOutput ?? null],
    });
    return rows[0] ? { ended: true, webhookUrl: rows[0].webhookUrl } : { ended: false };
  }

  /** The run waits at approval step `index`; undefined when it was no longer running (or has a cancel request). */
  async wait(runId: string, index: number, output: string, now: Date, until: Date | null): Promise<{ webhookUrl: string | null } | undefined> {
    const { rows } = await this.pool.query<{ webhookUrl: string | null }>({
      name: 'conveyor.runs.wait',
      text: waitSql,
      values: [runId, index, now, until, output],
    });
    return rows[0];
  }

  /**
   * Approves the step the run waits at (`index`, when given, must be that step); undefined
   * when the run was not waiting (there).
   */
  async approve(
    runId: string,
    decision: ApprovalDecision,
    output: string | undefined,
    index?: number,
  ): Promise<ApprovedStep | undefined> {
    const { rows } = await this.pool.query<{ id: string; requestId: string | null; traceContext: TraceCarrier | null; index: number | null; output: string | null }>({
      name: 'conveyor.runs.approve',
      text: approveSql,
      values: [runId, decision.at, output ?? null, JSON.stringify(decision), index ?? null],
    });
    const row = rows[0];
    if (!row || row.index === null) return undefined;
    return { requestId: row.requestId, traceContext: row.traceContext, index: row.index, output: row.output ?? '' };
  }

  /** The run's status and the step it waits at; undefined when there is no such run. */
  async waitState(runId: string): Promise<{ status: RunStatus; index: number | null } | undefined> {
    const { rows } = await this.pool.query<{ status: RunStatus; index: number | null }>(waitStateSql, [runId]);
    return rows[0];
  }

  /** One page of waiting runs, by id after `afterId`. */
  async waitingRuns(afterId: string, limit: number): Promise<WaitingRun[]> {
    const { rows } = await this.pool.query<WaitingRun>(waitingRunsSql, [afterId, limit]);
    return rows;
  }

  /** Flags a running run for cancellation. `status` is the run's status (undefined: no such run). */
  async requestCancel(runId: string, now: Date): Promise<{ status: RunStatus | undefined; flagged: boolean }> {
    const { rows } = await this.pool.query<{ status: RunStatus; flagged: boolean }>(requestCancelSql, [runId, now]);
    return { status: rows[0]?.status, flagged: rows[0]?.flagged ?? false };
  }

  /** Of `runIds`, those that have a cancel request. */
  async cancelRequested(runIds: string[]): Promise<string[]> {
    if (runIds.length === 0) return [];
    const { rows } = await this.pool.query<{ id: string }>('SELECT id FROM runs WHERE id = ANY($1::text[]) AND cancel_requested', [runIds]);
    return rows.map((row) => row.id);
  }

  /** One page of runs that Postgres calls active and that have not changed since `before`, by id after `afterId`. */
  async activeRuns(before: Date, afterId: string, limit: number): Promise<ActiveRun[]> {
    const { rows } = await this.pool.query<ActiveRun>(activeRunsSql, [before, afterId, limit]);
    return rows;
  }

  takeStaleOutbox(before: Date, now: Date, limit: number): Promise<{ runId: string; event: string; webhookUrl: string | null }[]> {
    return this.pool.query<{ runId: string; event: string; webhookUrl: string | null }>(takeStaleOutboxSql, [before, now, limit]).then((r) => r.rows);
  }

  pendingWebhooks(after: { runId: string; event: string }, limit: number): Promise<{ runId: string; event: string }[]> {
    return this.pool.query<{ runId: string; event: string }>(pendingWebhooksSql, [after.runId, after.event, limit]).then((r) => r.rows);
  }

  /**
   * Marks run-end effects done and keeps the run's event history when given (one statement for
   * the marks of many runs: a mark waits up to 50 ms for others).
   */
  async settleOutbox(runId: string, event: string, history: RunEvent[] | undefined): Promise<void> {
    await this.#settlements.add({ run_id: runId, event, history: history ?? null });
  }

  /** Sends the settle marks still waiting and waits for them (before the pool closes). */
  drain(): Promise<void> {
    return this.#settlements.drain();
  }

  /** The events Postgres keeps for the run (its history at its last pause, or at its end); empty when none. */
  async keptEvents(runId: string): Promise<RunEvent[]> {
    const { rows } = await this.pool.query<{ events: RunEvent[] }>({ name: 'conveyor.runs.kept-events', text: keptEventsSql, values: [runId] });
    return rows[0]?.events ?? [];
  }

  /** Keeps `events` as the run's history, unless a longer one is kept already. */
  async keepEvents(runId: string, events: RunEvent[]): Promise<void> {
    await this.pool.query({ name: 'conveyor.runs.keep-events', text: keepEventsSql, values: [runId, JSON.stringify(events)] });
  }

  /** The turns a step has recorded, with their finished tool calls, in order. */
  async loadTurns(runId: string, stepIndex: number): Promise<StoredTurn[]> {
    type Row = Omit<StoredTurn, 'toolCalls'> & { toolCalls: (Omit<ToolCallRecord, 'finishedAt'> & { finishedAt: string })[] };
    const { rows } = await this.pool.query<Row>({ name: 'conveyor.runs.load-turns', text: loadTurnsSql, values: [runId, stepIndex] });
    return rows.map((row) => ({
      ...row,
      cost: row.cost === null ? null : formatUsd(row.cost),
      toolCalls: row.toolCalls.map(({ outputJson, ...call }) => ({ ...call, ...(outputJson === null ? {} : { outputJson }), finishedAt: new Date(call.finishedAt) })),
    }));
  }

  /** Records a finished model turn of a running step (once); returns the run's state, or undefined if the run is gone. */
  recordTurn(runId: string, stepIndex: number, turn: TurnRecord): Promise<RunState | undefined> {
    return this.#turns.add({
      run_id: runId,
      step_index: stepIndex,
      turn: turn.turn,
      provider: turn.provider,
      model: turn.model,
      message: turn.message,
      stop_reason: turn.stopReason,
      input_tokens: turn.inputTokens,
      output_tokens: turn.outputTokens,
      cache_read_tokens: turn.cacheReadTokens,
      cache_write_tokens: turn.cacheWriteTokens,
      cost: turn.cost,
      warnings: turn.warnings,
      first_token_ms: turn.firstTokenMs,
      called_at: turn.calledAt.toISOString(),
      finished_at: turn.finishedAt.toISOString(),
    });
  }

  /** Records a finished tool call of a running step (once); returns the run's state, or undefined if the run is gone. */
  recordToolCall(runId: string, stepIndex: number, call: ToolCallRecord): Promise<RunState | undefined> {
    return this.#toolCalls.add({
      run_id: runId,
      step_index: stepIndex,
      turn: call.turn,
      position: call.position,
      tool_call_id: call.toolCallId,
      name: call.name,
      input: call.input ?? null,
      output: call.output,
      output_json: call.outputJson === undefined ? null : call.outputJson,
      is_error: call.isError,
      duration_ms: call.durationMs,
      warnings: call.warnings,
      finished_at: call.finishedAt.toISOString(),
    });
  }

  /** The webhook of a run-end event reached a final outcome: nothing more is owed. */
  async finishWebhook(runId: string, event: string): Promise<void> {
    await this.pool.query(finishWebhookSql, [runId, event]);
  }
}
