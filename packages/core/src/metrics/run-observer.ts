import { budgetExceededCode } from '../budgets/check.ts';
import type { Database } from '../db/client.ts';
import { type Metrics, metrics as processMetrics, type RunOutcome } from './metrics.ts';

const terminal: readonly string[] = ['succeeded', 'failed', 'canceled'] satisfies RunOutcome[];

/** What the metrics need of a run that has ended. */
export interface FinishedRun {
  /** Its pipeline: costs and budget stops are counted per pipeline too. */
  pipelineId?: string;
  status: string;
  /** A failed run's `error.code`. */
  errorCode?: string | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  steps: {
    provider: string | null;
    model: string | null;
    status: string;
    startedAt: Date | null;
    finishedAt: Date | null;
    inputTokens: number;
    outputTokens: number;
    cacheReadTokens: number;
    cacheWriteTokens: number;
    /** Exact decimal (string or Prisma Decimal). */
    cost: string | { toString(): string } | null;
    firstTokenMs: number | null;
  }[];
}

/**
 * Records a run that this process has just ended: its status and duration, and per step its
 * duration, tokens and cost (a resumed run's earlier steps are counted once, here).
 */
export function recordFinishedRun(run: FinishedRun, metrics: Metrics = processMetrics): void {
  if (!terminal.includes(run.status)) return;
  const elapsed = (from: Date | null, to: Date | null) => (from && to ? to.getTime() - from.getTime() : undefined);
  metrics.runFinished(run.status as RunOutcome, elapsed(run.startedAt, run.finishedAt));
  if (run.pipelineId && run.status === 'failed' && run.errorCode === budgetExceededCode) metrics.budgetExceeded(run.pipelineId);
  for (const step of run.steps) {
    if (!step.provider || !step.model) continue;
    const duration = elapsed(step.startedAt, step.finishedAt);
    if (duration !== undefined) metrics.stepFinished(step.provider, step.model, step.status, duration);
    if (step.firstTokenMs !== null) metrics.firstToken(step.provider, step.model, step.firstTokenMs);
    metrics.tokensUsed(step.provider, step.model, step);
    if (step.cost) {
      metrics.costIncurred(step.provider, step.model, step.cost.toString());
      if (run.pipelineId) metrics.pipelineCostIncurred(run.pipelineId, step.cost.toString());
    }
  }
}

/** A run that has ended, read back from Postgres (for the paths that end a run without holding its steps). */
export async function readFinishedRun(db: Database, runId: string): Promise<FinishedRun | undefined> {
  const run = await db.run.findUnique({
    where: { id: runId },
    select: {
      pipelineId: true,
      error: true,
      status: true,
      startedAt: true,
      finishedAt: true,
      steps: {
        select: {
          provider: true,
          model: true,
          status: true,
          startedAt: true,
          finishedAt: true,
          inputTokens: true,
          outputTokens: true,
          cacheReadTokens: true,
          cacheWriteTokens: true,
          cost: true,
          firstTokenMs: true,
        },
      },
    },
  });
  if (!run) return undefined;
  const { error, ...rest } = run;
  const code = error && typeof error === 'object' && !Array.isArray(error) ? (error as { code?: unknown }).code : undefined;
  return { ...rest, errorCode: typeof code === 'string' ? code : null };
}
