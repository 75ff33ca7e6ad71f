import { InvalidSpendQueryError, spendReport } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { validationError } from '../errors.ts';
import type { SpendInput, SpendJson } from '../schemas/spend.ts';

/** Costs count at the time of the model call that incurred them (its step's finish); days are UTC. */
export async function getSpend(deps: ApiDeps, query: SpendInput): Promise<SpendJson> {
  try {
    return await spendReport(deps.db, { from: new Date(query.from), to: new Date(query.to), groupBy: query.groupBy });
  } catch (error) {
    if (error instanceof InvalidSpendQueryError) throw validationError(error.message);
    throw error;
  }
}
