import { type BudgetCheck, checkBudget } from './check.ts';
import { type BoundedRequest, inputTokenUpperBound } from './input-bound.ts';
import { type PromptCaching, type WorstCase, worstCaseCost } from './worst-case.ts';

export interface CallBudgetInput {
  /** The run's maxCostUsd. */
  budget: string;
  /** What the run's model calls have cost so far (every earlier turn of every step). */
  spentSoFar: string;
  /** `provider:model` as it will be called. */
  model: string;
  /** The time the call is priced at: pass the same to computeCost/priceCall afterwards. */
  at: Date;
  /** The request as it will be sent: system, messages (tool turns included) and tool definitions. */
  request: BoundedRequest;
  /** The max_tokens the call will send; absent: the model's maximum output. */
  maxTokens?: number;
  promptCaching?: PromptCaching;
  /**
   * The provider's own count of the request's input tokens, with margin (Anthropic:
   * `countAnthropicInputTokens`). Asked only when the byte bound does not fit, so a run
   * with room in its budget makes no extra request.
   */
  countTokens?: () => Promise<number>;
}

export type CallBudgetCheck = BudgetCheck & { worstCase: WorstCase; inputBoundBy: 'bytes' | 'provider count' };

/**
 * The check the engine makes before each model call: the byte bound first (free);
 * if that does not fit and the provider can count tokens, the tighter of the two.
 */
export async function checkCallBudget(input: CallBudgetInput): Promise<CallBudgetCheck> {
  const estimate = (inputTokens: number) =>
    worstCaseCost({ model: input.model, at: input.at, inputTokens, maxTokens: input.maxTokens, promptCaching: input.promptCaching });
  const bytes = inputTokenUpperBound(input.request);
  const byBytes = estimate(bytes);
  const first = checkBudget({ budget: input.budget, spentSoFar: input.spentSoFar, worstCase: byBytes });
  if (first.ok || !input.countTokens) return { ...first, worstCase: byBytes, inputBoundBy: 'bytes' };
  const counted = await input.countTokens();
  if (counted >= bytes) return { ...first, worstCase: byBytes, inputBoundBy: 'bytes' };
  const byCount = estimate(counted);
  return { ...checkBudget({ budget: input.budget, spentSoFar: input.spentSoFar, worstCase: byCount }), worstCase: byCount, inputBoundBy: 'provider count' };
}
