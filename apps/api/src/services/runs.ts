import { cancelChannel } from '@conveyor/core/queue/names';
import { eventStreamSettings, RunEventPublisher } from '@conveyor/core/events/publish';
import { enqueueRunBatched } from '@conveyor/core/queue/runs-queue';
import { enqueueRunEndWebhook } from '@conveyor/core/webhooks/enqueue';
import type { Prisma } from '@conveyor/core/db/client';
import { newId } from '@conveyor/core/ids';
import { runInclude, serializeRun, type RunJson, type RunWithSteps } from '@conveyor/core/runs/serialize';
import type { ApiDeps } from '../context.ts';
import { ApiError, conflict, notFound } from '../errors.ts';
import { pageQuery, toPage } from '../pagination.ts';
import type { Page } from '../schemas/common.ts';
import type { ListRunsInput, SubmitRunInput } from '../schemas/runs.ts';
import { runInsertBatcher } from './run-insert-batcher.ts';
import { assertWebhookUrlAllowed } from './webhook-url.ts';

export interface SubmitOptions {
  idempotencyKey?: string | undefined;
  /** Carried to the worker's logs. */
  requestId?: string | undefined;
}

export interface SubmitResult {
  run: RunJson;
  /** False when the idempotency key named an earlier run (answered 200, nothing enqueued). */
  created: boolean;
}

async function findByIdempotencyKey(deps: ApiDeps, pipelineId: string, idempotencyKey: string): Promise<RunJson | undefined> {
  const run = await deps.db.run.findUnique({
    where: { pipelineId_idempotencyKey: { pipelineId, idempotencyKey } },
    include: runInclude,
  });
  return run ? serializeRun(run) : undefined;
}

interface InsertOutcome {
  /** Null when nothing was inserted. */
  createdAt: Date | null;
  pipelineExists: boolean;
  /** Agents the pipeline names that do not exist, in step order. */
  missingAgentIds: string[];
  steps: { index: number; agentId: string }[];
}

const insertQueuedRunSql = `
  WITH pipeline AS (
    SELECT id FROM pipelines WHERE id = $2
  ), steps AS (
    SELECT s.index, s.agent_id FROM pipeline_steps s WHERE s.pipeline_id = $2
  ), missing AS (
    SELECT s.agent_id, min(s.index) AS first_index
    FROM steps s LEFT JOIN agents a ON a.id = s.agent_id
    WHERE a.id IS NULL
    GROUP BY s.agent_id
  ), inserted AS (
    INSERT INTO runs (id, pipeline_id, status, input, metadata, webhook_url, idempotency_key, ttl_seconds, request_id, updated_at)
    SELECT $1, pipeline.id, 'queued', $3::jsonb, $4::jsonb, $5, $6, $7::int, $8, now()
    FROM pipeline
    WHERE NOT EXISTS (SELECT 1 FROM missing)
    ON CONFLICT (pipeline_id, idempotency_key) DO NOTHING
    RETURNING id, created_at
  ), inserted_steps AS (
    INSERT INTO run_steps (run_id, index, agent_id)
    SELECT inserted.id, steps.index, steps.agent_id FROM inserted, steps
  )
  SELECT
    (SELECT created_at FROM inserted) AS created_at,
    EXISTS (SELECT 1 FROM pipeline) AS pipeline_exists,
    ARRAY(SELECT agent_id FROM missing ORDER BY first_index) AS missing_agent_ids,
    (SELECT coalesce(json_agg(json_build_object('index', index, 'agentId', agent_id) ORDER BY index), '[]'::json) FROM steps) AS steps`;

/**
 * One statement, so one round trip and atomic without a transaction: checks the pipeline and
 * its agents, inserts the run and one pending step per pipeline step unless an agent is
 * missing or the idempotency key was used already (the unique index settles concurrent
 * duplicates), and tells which of these happened.
 */
async function insertQueuedRun(
  deps: ApiDeps,
  run: { id: string; pipelineId: string; input: SubmitRunInput; idempotencyKey: string | null; requestId: string | null },
): Promise<InsertOutcome> {
  const { id, pipelineId, input, idempotencyKey, requestId } = run;
  const metadata = input.metadata === undefined ? null : JSON.stringify(input.metadata);
  const { rows } = await deps.sql.query<{
    created_at: Date | null;
    pipeline_exists: boolean;
    missing_agent_ids: string[];
    steps: { index: number; agentId: string }[];
  }>(insertQueuedRunSql, [
    id,
    pipelineId,
    JSON.stringify(input.input),
    metadata,
    input.webhookUrl ?? null,
    idempotencyKey,
    input.ttlSeconds ?? null,
    requestId,
  ]);
  const row = rows[0]!;
  return {
    createdAt: row.created_at,
    pipelineExists: row.pipeline_exists,
    missingAgentIds: row.missing_agent_ids,
    steps: row.steps,
  };
}

/** The run as just inserted, without reading it back. */
function queuedRun(
  run: { id: string; pipelineId: string; input: SubmitRunInput; idempotencyKey: string | null; requestId: string | null },
  createdAt: Date,
  steps: { index: number; agentId: string }[],
): RunWithSteps {
  return {
    id: run.id,
    pipelineId: run.pipelineId,
    status: 'queued',
    input: run.input.input as Prisma.JsonValue,
    output: null,
    error: null,
    metadata: (run.input.metadata ?? null) as Prisma.JsonValue,
    webhookUrl: run.input.webhookUrl ?? null,
    idempotencyKey: run.idempotencyKey,
    ttlSeconds: run.input.ttlSeconds ?? null,
    cancelRequested: false,
    inputTokens: 0,
    outputTokens: 0,
    cost: null,
    requestId: run.requestId,
    attempts: 0,
    createdAt,
    startedAt: null,
    finishedAt: null,
    updatedAt: createdAt,
    artifact: null,
    steps: steps.map((step) => ({
      runId: run.id,
      index: step.index,
      agentId: step.agentId,
      provider: null,
      model: null,
      status: 'pending',
      output: null,
      error: null,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      cost: null,
      warnings: [],
      startedAt: null,
      finishedAt: null,
    })),
  };
}

/**
 * Stores a queued run with one pending step per pipeline step, then enqueues it.
 * If enqueueing fails the run stays `queued` in Postgres and the worker's reconciler enqueues it.
 */
export async function submitRun(
  deps: ApiDeps,
  pipelineId: string,
  input: SubmitRunInput,
  options: SubmitOptions = {},
): Promise<SubmitResult> {
  if (input.webhookUrl !== undefined) await assertWebhookUrlAllowed(deps, input.webhookUrl, ['webhookUrl']);
  const run = {
    id: newId('run'),
    pipelineId,
    input,
    idempotencyKey: options.idempotencyKey ?? null,
    requestId: options.requestId ?? null,
  };

  let inserted = await runInsertBatcher(deps.sql)
    .add({
      id: run.id,
      pipelineId,
      input: JSON.stringify(input.input),
      metadata: input.metadata === undefined ? null : JSON.stringify(input.metadata),
      webhookUrl: input.webhookUrl ?? null,
      idempotencyKey: run.idempotencyKey,
      ttlSeconds: input.ttlSeconds ?? null,
      requestId: run.requestId,
    })
    .catch((error: unknown) => {
      deps.logger.warn({ err: error, runId: run.id }, 'batched run insert failed; inserting alone');
      return undefined;
    });

  // Skipped by the batch (or the batch failed): this statement inserts it or says why not.
  if (!inserted) {
    const outcome = await insertQueuedRun(deps, run);
    if (outcome.createdAt !== null) inserted = { createdAt: outcome.createdAt, steps: outcome.steps };
    else {
      if (run.idempotencyKey !== null) {
        const earlier = await findByIdempotencyKey(deps, pipelineId, run.idempotencyKey);
        if (earlier) return { run: earlier, created: false };
      }
      if (!outcome.pipelineExists) throw notFound('pipeline', pipelineId);
      const { missingAgentIds } = outcome;
      throw new ApiError(409, 'pipeline_orphaned', `pipeline ${pipelineId} names deleted agents: ${missingAgentIds.join(', ')}`, {
        missingAgentIds,
      });
    }
  }

  try {
    await enqueueRunBatched(deps.runsQueue, { runId: run.id, ...(run.requestId ? { requestId: run.requestId } : {}) });
  } catch (error) {
    deps.logger.warn({ runId: run.id, err: error }, 'enqueue failed; the run stays queued for the reconciler');
  }
  return { run: serializeRun(queuedRun(run, inserted.createdAt, inserted.steps)), created: true };
}

export async function getRun(deps: ApiDeps, id: string): Promise<RunJson> {
  const run = await deps.db.run.findUnique({ where: { id }, include: runInclude });
  if (!run) throw notFound('run', id);
  return serializeRun(run);
}

export async function listRuns(deps: ApiDeps, query: ListRunsInput): Promise<Page<RunJson>> {
  const page = pageQuery(query);
  const rows = await deps.db.run.findMany({
    ...page,
    where: {
      ...page.where,
      ...(query.pipelineId ? { pipelineId: query.pipelineId } : {}),
      ...(query.status ? { status: query.status } : {}),
    },
    include: runInclude,
  });
  return toPage(rows, query.limit, serializeRun);
}

/**
 * A queued run is marked canceled (only if still queued) and its job removed; a running
 * run is flagged and the workers are told on the cancel channel, and the worker that
 * holds it aborts the step in flight. An ended run is a 409.
 */
export async function cancelRun(deps: ApiDeps, id: string): Promise<RunJson> {
  const now = new Date();
  const queued = await deps.db.run.updateMany({
    where: { id, status: 'queued' },
    data: { status: 'canceled', finishedAt: now, cancelRequested: true },
  });
  if (queued.count === 1) {
    await deps.db.runStep.updateMany({ where: { runId: id, status: 'pending' }, data: { status: 'canceled' } });
    await Promise.all([removeJob(deps, id), announceCanceled(deps, id)]);
    return getRun(deps, id);
  }

  const running = await deps.db.run.updateMany({ where: { id, status: 'running' }, data: { cancelRequested: true } });
  if (running.count === 1) {
    await deps.redis.publish(cancelChannel(deps.config.REDIS_PREFIX), id);
    return getRun(deps, id);
  }

  const run = await deps.db.run.findUnique({ where: { id }, select: { status: true } });
  if (!run) throw notFound('run', id);
  throw conflict(`run ${id} has already ended (${run.status})`, { status: run.status });
}

/**
 * The run ended here rather than in a worker, so the API emits its terminal event (event
 * streams close) and enqueues its webhook. Best effort: the webhook reconciler catches a miss.
 */
async function announceCanceled(deps: ApiDeps, runId: string): Promise<void> {
  const events = new RunEventPublisher(deps.redis, deps.config.REDIS_PREFIX, deps.logger, eventStreamSettings(deps.config)).forRun(runId);
  await events.emit('run.canceled', { runId });
  try {
    await enqueueRunEndWebhook(deps, runId);
  } catch (error) {
    deps.logger.warn({ runId, err: error }, 'could not enqueue the webhook of a canceled run');
  }
}

/** Best effort: a job that a worker took meanwhile sees the run canceled and does nothing. */
async function removeJob(deps: ApiDeps, runId: string): Promise<void> {
  try {
    await deps.runsQueue.remove(runId);
  } catch (error) {
    deps.logger.warn({ runId, err: error }, 'could not remove the job of a canceled run');
  }
}
