import { addCosts } from '../catalog/cost.ts';
import type { Database, Prisma, RunModel as Run, RunStepModel as RunStep } from '../db/client.ts';
import { newId } from '../ids.ts';
import type { RunError } from './errors.ts';

const activeStatuses = ['queued', 'running'] as const;

export type StartResult = { started: 'fresh' | 'resumed'; startedAt: Date } | { started: false };

/**
 * Marks the run `running`. `fresh` the first time (the caller emits `run.started`),
 * `resumed` when a retried or recovered job picks it up again.
 */
export async function markRunRunning(db: Database, runId: string, now: Date): Promise<StartResult> {
  const fresh = await db.run.updateMany({
    where: { id: runId, status: 'queued', cancelRequested: false },
    data: { status: 'running', startedAt: now, attempts: { increment: 1 } },
  });
  if (fresh.count === 1) return { started: 'fresh', startedAt: now };
  const resumed = await db.run.updateManyAndReturn({
    where: { id: runId, status: 'running' },
    data: { attempts: { increment: 1 } },
    select: { startedAt: true },
  });
  if (resumed.length === 1) return { started: 'resumed', startedAt: resumed[0]!.startedAt ?? now };
  return { started: false };
}

/**
 * Ends a run that has not ended yet as `failed` or `canceled`; the step in flight
 * gets the same status and steps never started become `canceled`.
 * Returns false when the run had already ended (someone else finished it).
 */
export async function endRun(
  db: Database,
  runId: string,
  outcome: { status: 'failed'; error: RunError } | { status: 'canceled' },
  now: Date,
): Promise<boolean> {
  return db.$transaction(async (tx) => {
    const ended = await tx.run.updateMany({
      where: { id: runId, status: { in: [...activeStatuses] } },
      data: {
        status: outcome.status,
        finishedAt: now,
        ...(outcome.status === 'failed' ? { error: outcome.error as unknown as Prisma.InputJsonValue } : {}),
      },
    });
    if (ended.count !== 1) return false;
    await tx.runStep.updateMany({
      where: { runId, status: 'running' },
      data: {
        status: outcome.status,
        finishedAt: now,
        ...(outcome.status === 'failed' && outcome.error.step !== undefined
          ? { error: outcome.error as unknown as Prisma.InputJsonValue }
          : {}),
      },
    });
    await tx.runStep.updateMany({ where: { runId, status: 'pending' }, data: { status: 'canceled' } });
    await syncRunUsage(tx, runId);
    return true;
  });
}

type Tx = Parameters<Parameters<Database['$transaction']>[0]>[0];

/** Copies the sum of finished steps' usage and cost onto the run (what was billed so far). */
async function syncRunUsage(tx: Tx, runId: string): Promise<void> {
  const steps = await tx.runStep.findMany({ where: { runId, status: 'succeeded' } });
  if (steps.length === 0) return;
  const totals = totalsOf(steps);
  await tx.run.update({ where: { id: runId }, data: { inputTokens: totals.inputTokens, outputTokens: totals.outputTokens, cost: totals.cost } });
}

export interface Totals {
  inputTokens: number;
  outputTokens: number;
  /** Decimal sum of the known step costs; null when no step has a known price. */
  cost: string | null;
}

export function totalsOf(steps: Pick<RunStep, 'inputTokens' | 'outputTokens' | 'cost'>[]): Totals {
  const costs = steps.map((step) => (step.cost === null ? null : step.cost.toFixed()));
  return {
    inputTokens: steps.reduce((sum, step) => sum + step.inputTokens, 0),
    outputTokens: steps.reduce((sum, step) => sum + step.outputTokens, 0),
    cost: costs.some((cost) => cost !== null) ? addCosts(costs) : null,
  };
}

export interface SucceededRun {
  artifactId: string;
  output: string;
  totals: Totals;
}

/**
 * Marks the run `succeeded` and writes its artifact in ONE transaction. The update is
 * conditional on the run still being `running` and the artifact's run id is unique,
 * so however often this is called for a run, at most one artifact exists.
 * Returns undefined when the run was no longer running.
 */
export async function completeRun(
  db: Database,
  run: Pick<Run, 'id' | 'pipelineId' | 'input' | 'metadata' | 'createdAt' | 'startedAt' | 'attempts'>,
  pipelineName: string,
  now: Date,
): Promise<SucceededRun | undefined> {
  return db.$transaction(async (tx) => {
    const steps = await tx.runStep.findMany({ where: { runId: run.id }, orderBy: { index: 'asc' } });
    const last = steps[steps.length - 1];
    if (!last || steps.some((step) => step.status !== 'succeeded')) return undefined;
    const output = last.output ?? '';
    const totals = totalsOf(steps);
    const marked = await tx.run.updateMany({
      where: { id: run.id, status: 'running' },
      data: {
        status: 'succeeded',
        output,
        inputTokens: totals.inputTokens,
        outputTokens: totals.outputTokens,
        cost: totals.cost,
        finishedAt: now,
      },
    });
    if (marked.count !== 1) return undefined;
    const startedAt = run.startedAt ?? run.createdAt;
    const artifactId = newId('art');
    await tx.artifact.create({
      data: {
        id: artifactId,
        runId: run.id,
        pipelineId: run.pipelineId,
        pipelineName,
        artifactData: artifactData(run, steps, output, totals, startedAt, now) as Prisma.InputJsonValue,
        cost: totals.cost,
        inputTokens: totals.inputTokens,
        outputTokens: totals.outputTokens,
        models: [...new Set(steps.map((step) => step.model).filter((model): model is string => model !== null))],
        runCreatedAt: run.createdAt,
        durationMs: now.getTime() - startedAt.getTime(),
      },
    });
    return { artifactId, output, totals };
  });
}

function artifactData(
  run: Pick<Run, 'id' | 'input' | 'metadata' | 'attempts'>,
  steps: RunStep[],
  output: string,
  totals: Totals,
  startedAt: Date,
  finishedAt: Date,
) {
  return {
    output,
    input: run.input,
    steps: steps.map((step) => ({
      index: step.index,
      agentId: step.agentId,
      provider: step.provider,
      model: step.model,
      output: step.output,
      usage: { inputTokens: step.inputTokens, outputTokens: step.outputTokens },
      cost: step.cost === null ? null : step.cost.toFixed(),
      warnings: step.warnings,
      startedAt: step.startedAt?.toISOString() ?? null,
      finishedAt: step.finishedAt?.toISOString() ?? null,
    })),
    usage: { inputTokens: totals.inputTokens, outputTokens: totals.outputTokens },
    cost: totals.cost,
    completion: {
      runId: run.id,
      startedAt: startedAt.toISOString(),
      finishedAt: finishedAt.toISOString(),
      durationMs: finishedAt.getTime() - startedAt.getTime(),
      attempts: run.attempts,
    },
    ...(run.metadata === null ? {} : { metadata: run.metadata }),
  };
}
