import type { ApprovalSettings, Database, PipelineModel as Pipeline, Prisma, PipelineStepModel as PipelineStep } from '@conveyor/core';
import { newId } from '@conveyor/core';
import { findMissingAgentIds } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { notFound, validationError } from '../errors.ts';
import { pageQuery, toPage } from '../pagination.ts';
import type { Page, PageInput } from '../schemas/common.ts';
import type { CreatePipelineInput, PipelineJson, PipelineStepInput, UpdatePipelineInput } from '../schemas/pipelines.ts';
import { isPrismaError } from './prisma-errors.ts';
import { assertWebhookUrlAllowed } from './webhook-url.ts';

type PipelineWithSteps = Pipeline & { steps: PipelineStep[] };

const withSteps = { steps: { orderBy: { index: 'asc' } } } as const;

/** The ids among the steps' agents that name no agent (any more). */
async function findMissingAgents(db: Database, steps: { agentId?: string | null }[]): Promise<Set<string>> {
  return new Set(await findMissingAgentIds(db, steps.map((step) => ({ agentId: step.agentId ?? null }))));
}

export function serializePipeline(pipeline: PipelineWithSteps, missing: Set<string>): PipelineJson {
  const missingAgentIds = [...new Set(pipeline.steps.flatMap((step) => (step.agentId !== null && missing.has(step.agentId) ? [step.agentId] : [])))];
  return {
    id: pipeline.id,
    name: pipeline.name,
    steps: pipeline.steps.map(serializeStep),
    webhookUrl: pipeline.webhookUrl,
    maxDurationSeconds: pipeline.maxDurationSeconds,
    maxCostUsd: pipeline.maxCostUsd === null ? null : pipeline.maxCostUsd.toFixed(),
    orphaned: missingAgentIds.length > 0,
    missingAgentIds,
    createdAt: pipeline.createdAt.toISOString(),
    updatedAt: pipeline.updatedAt.toISOString(),
  };
}

function serializeStep(step: PipelineStep): PipelineJson['steps'][number] {
  const approval = (step.approval ?? {}) as ApprovalSettings;
  return {
    index: step.index,
    type: step.type,
    agentId: step.agentId,
    prompt: step.prompt,
    ...(approval.instructions !== undefined ? { instructions: approval.instructions } : {}),
    ...(approval.timeoutSeconds !== undefined ? { timeoutSeconds: approval.timeoutSeconds } : {}),
    ...(approval.onTimeout !== undefined ? { onTimeout: approval.onTimeout } : {}),
  };
}

async function serializeWithLiveAgents(db: Database, pipelines: PipelineWithSteps[]): Promise<PipelineJson[]> {
  const missing = await findMissingAgents(db, pipelines.flatMap((p) => p.steps));
  return pipelines.map((pipeline) => serializePipeline(pipeline, missing));
}

async function assertAgentsExist(db: Database, steps: PipelineStepInput[]): Promise<void> {
  const missing = await findMissingAgents(db, steps.map((step) => ({ agentId: 'agentId' in step ? step.agentId : null })));
  if (missing.size > 0) {
    throw validationError(`unknown agent${missing.size > 1 ? 's' : ''}: ${[...missing].join(', ')}`, {
      missingAgentIds: [...missing],
    });
  }
}

function stepRow(step: PipelineStepInput, index: number) {
  if (step.type === 'approval') {
    const { type, ...approval } = step;
    return { index, type, agentId: null, prompt: null, approval: approval as Prisma.InputJsonObject };
  }
  return { index, type: 'agent' as const, agentId: step.agentId, prompt: step.prompt ?? null };
}

const stepRows = (steps: CreatePipelineInput['steps']) => steps.map(stepRow);

export async function listPipelines(deps: ApiDeps, page: PageInput): Promise<Page<PipelineJson>> {
  const query = pageQuery(page);
  const rows = await deps.db.pipeline.findMany({ ...query, where: { ...query.where, archivedAt: null }, include: withSteps });
  const serialized = await serializeWithLiveAgents(deps.db, rows.slice(0, page.limit));
  const byId = new Map(serialized.map((pipeline) => [pipeline.id, pipeline]));
  return toPage(rows, page.limit, (row) => byId.get(row.id)!);
}

export async function getPipeline(deps: ApiDeps, id: string): Promise<PipelineJson> {
  const pipeline = await deps.db.pipeline.findUnique({ where: { id }, include: withSteps });
  if (!pipeline || pipeline.archivedAt) throw notFound('pipeline', id);
  const [json] = await serializeWithLiveAgents(deps.db, [pipeline]);
  return json!;
}

/** Every step must name an existing agent when the pipeline is saved. */
export async function createPipeline(deps: ApiDeps, input: CreatePipelineInput): Promise<PipelineJson> {
  await assertAgentsExist(deps.db, input.steps);
  if (input.webhookUrl !== undefined) await assertWebhookUrlAllowed(deps, input.webhookUrl, ['webhookUrl']);
  const pipeline = await deps.db.pipeline.create({
    data: {
      id: newId('pip'),
      name: input.name,
      webhookUrl: input.webhookUrl ?? null,
      maxDurationSeconds: input.maxDurationSeconds ?? null,
      maxCostUsd: input.maxCostUsd ?? null,
      steps: { createMany: { data: stepRows(input.steps) } },
    },
    include: withSteps,
  });
  return serializePipeline(pipeline, new Set());
}

/** `steps`, when given, replaces every step. */
export async function updatePipeline(deps: ApiDeps, id: string, input: UpdatePipelineInput): Promise<PipelineJson> {
  if (input.steps) await assertAgentsExist(deps.db, input.steps);
  if (input.webhookUrl) await assertWebhookUrlAllowed(deps, input.webhookUrl, ['webhookUrl']);
  const { steps, ...fields } = input;
  try {
    await deps.db.$transaction(async (tx) => {
      await tx.pipeline.update({ where: { id, archivedAt: null }, data: fields });
      if (steps) {
        await tx.pipelineStep.deleteMany({ where: { pipelineId: id } });
        await tx.pipelineStep.createMany({ data: stepRows(steps).map((step) => ({ ...step, pipelineId: id })) });
      }
    });
  } catch (error) {
    if (isPrismaError(error, 'P2025')) throw notFound('pipeline', id);
    throw error;
  }
  return getPipeline(deps, id);
}

/**
 * A pipeline without runs is deleted. One with runs is archived instead: it leaves the lists
 * and answers 404 from then on, while its runs and artifacts stay readable. Either way its
 * schedules are deleted (the runs they made stay).
 */
export async function deletePipeline(deps: ApiDeps, id: string): Promise<void> {
  await deps.schedules.removeForPipeline(id);
  const { count } = await deps.db.pipeline.updateMany({
    where: { id, archivedAt: null, runs: { some: {} } },
    data: { archivedAt: new Date() },
  });
  if (count > 0) return;
  try {
    const deleted = await deps.db.pipeline.deleteMany({ where: { id, archivedAt: null } });
    if (deleted.count === 0) throw notFound('pipeline', id);
  } catch (error) {
    // A run was submitted between the two statements: archive after all.
    if (isPrismaError(error, 'P2003')) return deletePipeline(deps, id);
    throw error;
  }
}
