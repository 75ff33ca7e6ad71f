import {
  BranchRefusedError,
  DefaultModelUnsetError,
  PipelineNotFoundError,
  PipelineOrphanedError,
  Prisma,
  RunAlreadyEndedError,
  runInclude,
  runListInclude,
  type RunJson,
  RunNotFoundError,
  RunNotWaitingError,
  RunStateChangingError,
  type RunWithSteps,
  type SubmittedStep,
  serializeRun,
} from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { ApiError, conflict, notFound, validationError } from '../errors.ts';
import { pageQuery, toPage } from '../pagination.ts';
import type { Page } from '../schemas/common.ts';
import type { ApproveRunInput, BranchRunInput, ListRunsInput, RejectRunInput, SubmitRunInput } from '../schemas/runs.ts';
import { assertKnownModel } from './models-validation.ts';
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

/** The run as just inserted, without reading it back. */
function queuedRun(
  run: {
    id: string;
    pipelineId: string;
    input: SubmitRunInput;
    idempotencyKey: string | null;
    requestId: string | null;
    scheduledFor: Date | null;
    maxCostUsd: string | null;
  },
  createdAt: Date,
  steps: SubmittedStep[],
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
    scheduledFor: run.scheduledFor,
    scheduleId: null,
    cancelRequested: false,
    inputTokens: 0,
    outputTokens: 0,
    cost: null,
    maxCostUsd: run.maxCostUsd === null ? null : new Prisma.Decimal(run.maxCostUsd),
    requestId: run.requestId,
    traceContext: null,
    attempts: 0,
    snapshot: null,
    waitingSince: null,
    waitingUntil: null,
    waitedMs: 0n,
    parentRunId: null,
    branchedFromStep: null,
    stepOverrides: null,
    createdAt,
    startedAt: null,
    finishedAt: null,
    updatedAt: createdAt,
    artifact: null,
    steps: steps.map((step) => ({
      runId: run.id,
      index: step.index,
      type: step.type,
      agentId: step.agentId,
      decision: null,
      reused: false,
      provider: null,
      model: null,
      status: 'pending',
      output: null,
      structured: false,
      turns: [],
      error: null,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      cost: null,
      warnings: [],
      calledAt: null,
      pipelineId: null,
      spentInTurns: false,
      failedAttempts: null,
      firstTokenMs: null,
      startedAt: null,
      finishedAt: null,
    })),
  };
}

/** When a delayed run is due (`runAt`, or now + `delaySeconds`); undefined for a run due at once. */
function dueAt(input: SubmitRunInput): Date | undefined {
  if (input.runAt !== undefined) return new Date(input.runAt);
  if (input.delaySeconds !== undefined) return new Date(Date.now() + input.delaySeconds * 1000);
  return undefined;
}

/** The engine's refusals as API errors. */
function asApiError(error: unknown): unknown {
  if (error instanceof PipelineNotFoundError) return notFound('pipeline', error.pipelineId);
  if (error instanceof PipelineOrphanedError) return new ApiError(409, 'pipeline_orphaned', error.message, { missingAgentIds: error.missingAgentIds });
  if (error instanceof DefaultModelUnsetError) return conflict(error.message);
  if (error instanceof RunNotFoundError) return notFound('run', error.runId);
  if (error instanceof RunAlreadyEndedError) return conflict(error.message, { status: error.status });
  if (error instanceof RunNotWaitingError) return conflict(error.message, { status: error.status });
  if (error instanceof RunStateChangingError) return conflict(error.message, { status: error.status });
  if (error instanceof BranchRefusedError) return error.kind === 'invalid' ? validationError(error.message) : conflict(error.message);
  return error;
}

/**
 * Submits a run through the run engine: stored as queued with one pending step per pipeline
 * step, then enqueued (if the enqueue fails the run stays queued and the reconciler enqueues it).
 */
export async function submitRun(
  deps: ApiDeps,
  pipelineId: string,
  input: SubmitRunInput,
  options: SubmitOptions = {},
): Promise<SubmitResult> {
  if (input.webhookUrl !== undefined) await assertWebhookUrlAllowed(deps, input.webhookUrl, ['webhookUrl']);
  const scheduledFor = dueAt(input);
  const submitted = await deps.engine
    .submit({
      pipelineId,
      input: input.input,
      metadata: input.metadata,
      webhookUrl: input.webhookUrl,
      ttlSeconds: input.ttlSeconds,
      scheduledFor,
      maxCostUsd: input.maxCostUsd,
      idempotencyKey: options.idempotencyKey,
      requestId: options.requestId,
    })
    .catch((error: unknown) => {
      throw asApiError(error);
    });
  if (!submitted.created) return { run: await getRun(deps, submitted.runId), created: false };
  const run = {
    id: submitted.runId,
    pipelineId,
    input,
    idempotencyKey: options.idempotencyKey ?? null,
    requestId: options.requestId ?? null,
    scheduledFor: scheduledFor ?? null,
    maxCostUsd: submitted.maxCostUsd,
  };
  return { run: serializeRun(queuedRun(run, submitted.createdAt, submitted.steps)), created: true };
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
      ...(query.scheduleId ? { scheduleId: query.scheduleId } : {}),
      ...(query.parentRunId ? { parentRunId: query.parentRunId } : {}),
      ...(query.status ? { status: query.status } : {}),
    },
    include: runListInclude,
  });
  return toPage(rows, query.limit, serializeRun);
}

/**
 * A queued run ends canceled at once; a running run is flagged and the worker holding it aborts
 * the step in flight (the run engine does both). An ended run is a 409.
 */
export async function cancelRun(deps: ApiDeps, id: string): Promise<RunJson> {
  await deps.engine.cancel(id).catch((error: unknown) => {
    throw asApiError(error);
  });
  return getRun(deps, id);
}

/** Approves the approval step a waiting run is at; the run goes on (409 when it is not waiting). */
export async function approveRun(deps: ApiDeps, id: string, input: ApproveRunInput, by: string): Promise<RunJson> {
  await deps.engine.approve(id, { by, comment: input.comment, output: asStepOutput(input.output) }).catch((error: unknown) => {
    throw asApiError(error);
  });
  return getRun(deps, id);
}

/** Rejects the approval step a waiting run is at: the run ends failed with `rejected` (409 when it is not waiting). */
export async function rejectRun(deps: ApiDeps, id: string, input: RejectRunInput, by: string): Promise<RunJson> {
  await deps.engine.reject(id, { by, comment: input.comment }).catch((error: unknown) => {
    throw asApiError(error);
  });
  return getRun(deps, id);
}

/** JSON an approver or a branch gives as a step's output: steps pass text on, so other JSON becomes JSON text. */
const asStepOutput = (value: unknown): string | undefined => (value === undefined ? undefined : typeof value === 'string' ? value : JSON.stringify(value));

/**
 * A new run that reuses the parent's steps before `fromStep` (no provider call, cost "0"),
 * through the run engine's submission; 409 pipeline_orphaned only when a step it must run
 * names a deleted agent.
 */
export async function branchRun(deps: ApiDeps, parentRunId: string, input: BranchRunInput, requestId?: string): Promise<RunJson> {
  for (const [index, override] of Object.entries(input.overrides ?? {})) {
    if (override.model !== undefined) assertKnownModel(deps.registry, override.model, ['overrides', index, 'model']);
  }
  const branched = await deps.engine
    .branch({
      parentRunId,
      fromStep: input.fromStep,
      output: asStepOutput(input.output),
      input: input.input,
      overrides: input.overrides,
      requestId,
    })
    .catch((error: unknown) => {
      throw asApiError(error);
    });
  return getRun(deps, branched.runId);
}
