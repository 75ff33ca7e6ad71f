import { addCosts } from '../catalog/cost.ts';
import type { Database, Prisma } from '../db/client.ts';
import type { RunError } from './errors.ts';

const activeStatuses = ['queued', 'running'] as const;

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

/** Sums steps' usage; a cost is a decimal string or a Prisma Decimal. */
export function totalsOf(steps: { inputTokens: number; outputTokens: number; cost: string | { toFixed(): string } | null }[]): Totals {
  const costs = steps.map((step) => (step.cost === null ? null : typeof step.cost === 'string' ? step.cost : step.cost.toFixed()));
  return {
    inputTokens: steps.reduce((sum, step) => sum + step.inputTokens, 0),
    outputTokens: steps.reduce((sum, step) => sum + step.outputTokens, 0),
    cost: costs.some((cost) => cost !== null) ? addCosts(costs) : null,
  };
}
