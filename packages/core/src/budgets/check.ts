import { Decimal, formatUsd } from '../catalog/cost.ts';
import type { WorstCase } from './worst-case.ts';

/** The run's `error.code` when its next model call might not fit its budget. */
export const budgetExceededCode = 'budget_exceeded';

export interface BudgetFigures {
  /** The run's `maxCostUsd`. */
  budget: string;
  /** What the run's calls have cost so far. */
  spentSoFar: string;
  /** The most the next call can cost. */
  worstCase: string;
  /** budget − spentSoFar. */
  remaining: string;
}

/** The next model call was not made: it might have taken the run past its budget. */
export class BudgetExceededError extends Error {
  override name = 'BudgetExceededError';
  readonly code = budgetExceededCode;
  constructor(readonly figures: BudgetFigures) {
    super(
      `the next model call could cost up to $${figures.worstCase}, more than the $${figures.remaining} left of the run's $${figures.budget} budget ($${figures.spentSoFar} spent): the call was not made`,
    );
  }

  /** The run's `error` object: code, message and the figures. */
  toJSON() {
    return { code: this.code, message: this.message, ...this.figures };
  }
}

export type BudgetCheck = { ok: true; figures: BudgetFigures } | { ok: false; error: BudgetExceededError };

const decimalString = /^\d+(\.\d+)?$/;

function amount(name: string, value: string): Decimal {
  if (!decimalString.test(value)) throw new RangeError(`${name} must be a non-negative decimal string, got "${value}"`);
  return new Decimal(value);
}

/**
 * Whether a call whose worst case is `worstCase` fits in what is left of
 * `budget` after `spentSoFar`. A call that exactly uses up the budget fits.
 */
export function checkBudget(input: { budget: string; spentSoFar: string; worstCase: string | WorstCase }): BudgetCheck {
  const worstCaseText = typeof input.worstCase === 'string' ? input.worstCase : input.worstCase.cost;
  const budget = amount('budget', input.budget);
  const spent = amount('spentSoFar', input.spentSoFar);
  const worst = amount('worstCase', worstCaseText);
  const remaining = budget.minus(spent);
  const figures: BudgetFigures = {
    budget: formatUsd(budget),
    spentSoFar: formatUsd(spent),
    worstCase: formatUsd(worst),
    remaining: formatUsd(Decimal.max(remaining, 0)),
  };
  return spent.plus(worst).lessThanOrEqualTo(budget) ? { ok: true, figures } : { ok: false, error: new BudgetExceededError(figures) };
}
