import { type BudgetStoppedRun, InvalidSpendQueryError, runsStoppedByBudget, spendReport } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { validationError } from '../errors.ts';
import type { SpendInput, SpendJson } from '../schemas/spend.ts';

/** Costs count at the time of the model call that incurred them (a one-shot step's, each turn of a tool loop); days are UTC. */
export async function getSpend(deps: ApiDeps, query: SpendInput): Promise<SpendJson> {
  try {
    return await spendReport(deps.db, { from: new Date(query.from), to: new Date(query.to), groupBy: query.groupBy });
  } catch (error) {
    if (error instanceof InvalidSpendQueryError) throw validationError(error.message);
    throw error;
  }
}

export const overviewDays = [7, 30, 90] as const;
export type OverviewDays = (typeof overviewDays)[number];
export type StackBy = 'provider' | 'model';

export interface SpendOverview {
  from: Date;
  to: Date;
  days: string[];
  byDay: SpendJson;
  topPipelines: SpendJson['groups'];
  stoppedByBudget: BudgetStoppedRun[];
}

const dayMs = 86_400_000;

/** The last `days` UTC days up to and including today's: what the console's Spend page shows. */
export async function spendOverview(deps: ApiDeps, options: { days: OverviewDays; stack: StackBy; now?: Date }): Promise<SpendOverview> {
  const now = options.now ?? new Date();
  const to = new Date(Math.floor(now.getTime() / dayMs) * dayMs + dayMs);
  const from = new Date(to.getTime() - options.days * dayMs);
  const days = Array.from({ length: options.days }, (_, i) => new Date(from.getTime() + i * dayMs).toISOString().slice(0, 10));
  const [byDay, byPipeline, stoppedByBudget] = await Promise.all([
    spendReport(deps.db, { from, to, groupBy: ['day', options.stack] }),
    spendReport(deps.db, { from, to, groupBy: ['pipeline'] }),
    runsStoppedByBudget(deps.db, { from, to, limit: 20 }),
  ]);
  return { from, to, days, byDay, topPipelines: byPipeline.groups.slice(0, 10), stoppedByBudget };
}
