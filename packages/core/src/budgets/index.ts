export { countAnthropicInputTokens, type CountTokensRequest, withCountMargin } from './anthropic-count.ts';
export { type BudgetCheck, BudgetExceededError, budgetExceededCode, type BudgetFigures, checkBudget } from './check.ts';
export { type BoundedRequest, inputTokenUpperBound } from './input-bound.ts';
export { type PromptCaching, UnpricedModelError, type WorstCase, type WorstCaseInput, worstCaseCost } from './worst-case.ts';
export { type CallBudgetCheck, type CallBudgetInput, checkCallBudget } from './call-check.ts';
