import { findModel, priceAt, type TierRates } from '../catalog/catalog.ts';
import { Decimal, formatUsd, perMillion, tierFor } from '../catalog/cost.ts';

/** Which cache writes the call may make: none, Anthropic's default 5-minute writes, or 1-hour writes. */
export type PromptCaching = 'off' | '5m' | '1h';

export interface WorstCaseInput {
  /** `provider:model` or a model id the catalog knows. */
  model: string;
  /** The time of the call: its price is the one in force then (pass the same time to computeCost). */
  at: Date;
  /** An upper bound on the prompt: counted by the provider (with margin) or `inputTokenUpperBound`. */
  inputTokens: number;
  /** The call's output limit, as sent; absent: the model's maximum output from the catalog. */
  maxTokens?: number;
  /** Whether the request carries cache breakpoints (default off: caching can then only read, which is cheaper). */
  promptCaching?: PromptCaching;
}

export interface WorstCase {
  /** USD, rounded up to 12 decimals so that it is never below the exact worst case. */
  cost: string;
  inputTokens: number;
  outputTokens: number;
  /** The price it was estimated at. */
  priceEffectiveFrom: string;
  tier: 'base' | 'long-context';
}

/** Thrown for a model without a known price: its worst case cannot be bounded, so a budgeted run cannot call it. */
export class UnpricedModelError extends Error {
  override name = 'UnpricedModelError';
  constructor(readonly model: string) {
    super(`no known price for model "${model}": a run with a budget cannot call it`);
  }
}

/** The dearest rate any prompt token can be billed at, given the cache writes the call may make. */
function dearestInputRate(rates: TierRates, caching: PromptCaching): Decimal {
  const input = new Decimal(rates.input);
  const candidates = [input];
  if (caching !== 'off') candidates.push(new Decimal(rates.cacheWrite ?? rates.input));
  if (caching === '1h') candidates.push(new Decimal(rates.cacheWrite1h ?? rates.cacheWrite ?? rates.input));
  if (rates.cacheRead) candidates.push(new Decimal(rates.cacheRead));
  return Decimal.max(...candidates);
}

const nonNegativeInteger = (name: string, value: number) => {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
};

/**
 * The most one model call can cost: every prompt token at the dearest rate it
 * may be billed at, plus `maxTokens` output tokens at the output rate, at the
 * price in force at `at` and in the tier the prompt bound falls in (a real
 * prompt is never longer than its bound, so never in a dearer tier). Pure.
 */
export function worstCaseCost(call: WorstCaseInput): WorstCase {
  const entry = findModel(call.model);
  if (!entry) throw new UnpricedModelError(call.model);
  nonNegativeInteger('inputTokens', call.inputTokens);
  const outputTokens = call.maxTokens ?? entry.maxOutputTokens;
  nonNegativeInteger('maxTokens', outputTokens);
  const price = priceAt(entry, call.at);
  const { rates, tier } = tierFor(price, call.inputTokens);
  const total = new Decimal(call.inputTokens)
    .times(dearestInputRate(rates, call.promptCaching ?? 'off'))
    .plus(new Decimal(outputTokens).times(rates.output))
    .dividedBy(perMillion);
  return {
    cost: formatUsd(total.toDecimalPlaces(12, Decimal.ROUND_UP)),
    inputTokens: call.inputTokens,
    outputTokens,
    priceEffectiveFrom: price.effectiveFrom,
    tier,
  };
}
