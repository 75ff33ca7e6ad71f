import DecimalJs from 'decimal.js';
import type { Usage } from '../providers/types.ts';
import { type DatedPrice, findModel, priceAt, type TierRates } from './catalog.ts';

/** Enough significant digits for any realistic token count times any price. */
export const Decimal = DecimalJs.clone({ precision: 50, rounding: DecimalJs.ROUND_HALF_UP });
export type Decimal = InstanceType<typeof Decimal>;

export const perMillion = new Decimal(1_000_000);
/** Costs keep 12 decimals (a millionth of a millionth of a dollar). */
const costDecimals = 12;

export interface CostResult {
  /** USD as a decimal string such as "0.004215"; null when the model's prices are unknown. */
  cost: string | null;
  warnings: string[];
}

/** Usage as priced: 1-hour cache writes, where the provider reports them, are a part of cacheWriteTokens. */
export interface PricedUsage extends Usage {
  cacheWrite1hTokens?: number;
}

/** Which price a call was charged at: record it with the call's cost. */
export interface AppliedPrice {
  /** The day the applied price took effect. */
  effectiveFrom: string;
  source: string;
  /** `long-context` when the request crossed the model's long-context threshold. */
  tier: 'base' | 'long-context';
}

export interface PricedCall extends CostResult {
  price: AppliedPrice | null;
}

/** Renders USD with up to 12 decimals, trailing zeros trimmed, at least 2 decimals ("0.004215", "30.00"). */
export function formatUsd(value: Decimal | string): string {
  const fixed = new Decimal(value).toFixed(costDecimals, Decimal.ROUND_HALF_UP);
  const [whole, fraction = ''] = fixed.split('.');
  const trimmed = fraction.replace(/0+$/, '').padEnd(2, '0');
  return `${whole}.${trimmed}`;
}

function tokens(count: number | undefined): Decimal {
  if (count === undefined) return new Decimal(0);
  if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`token counts are non-negative integers, got ${count}`);
  return new Decimal(count);
}

/** Input, cache reads and cache writes: what a long-context threshold is measured on. */
export function promptTokens(usage: Usage): number {
  return usage.inputTokens + (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0);
}

/** The rates of the tier a request of `prompt` tokens falls in. */
export function tierFor(price: DatedPrice, prompt: number): { rates: TierRates; tier: AppliedPrice['tier'] } {
  const long = price.longContext;
  if (long && prompt > long.abovePromptTokens) return { rates: long, tier: 'long-context' };
  return { rates: price, tier: 'base' };
}

/** USD (unrounded) of a usage at one tier's rates. Cache reads/writes without a separate price are billed as plain input. */
export function costAtRates(rates: TierRates, usage: PricedUsage): Decimal {
  const input = new Decimal(rates.input);
  const write5m = rates.cacheWrite ?? input;
  const write1h = rates.cacheWrite1h ?? write5m;
  const writes = tokens(usage.cacheWriteTokens);
  const writes1h = tokens(usage.cacheWrite1hTokens);
  if (writes1h.greaterThan(writes)) throw new RangeError('1-hour cache writes are a part of cacheWriteTokens');
  return tokens(usage.inputTokens)
    .times(input)
    .plus(tokens(usage.outputTokens).times(rates.output))
    .plus(tokens(usage.cacheReadTokens).times(rates.cacheRead ?? input))
    .plus(writes.minus(writes1h).times(write5m))
    .plus(writes1h.times(write1h))
    .dividedBy(perMillion);
}

/**
 * The cost of one call made at `at`, at the rates in force that day (UTC) and in
 * the tier its prompt size falls in, with the price it was charged at.
 */
export function priceCall(model: string, usage: PricedUsage, at: Date): PricedCall {
  const entry = findModel(model);
  if (!entry) return { cost: null, price: null, warnings: [`no known price for model "${model}": cost not computed`] };
  const price = priceAt(entry, at);
  const { rates, tier } = tierFor(price, promptTokens(usage));
  return { cost: formatUsd(costAtRates(rates, usage)), price: { effectiveFrom: price.effectiveFrom, source: price.source, tier }, warnings: [] };
}

/**
 * The cost of one call: each kind of token at its own price per million, at the
 * rates in force at `at` (the time of the call; default now).
 */
export function computeCost(model: string, usage: PricedUsage, at: Date = new Date()): CostResult {
  const { cost, warnings } = priceCall(model, usage, at);
  return { cost, warnings };
}

/**
 * What prompt caching saved on a call made at `at`: its cost had every cached token (read or
 * written) been billed as plain input, minus its cost. Negative when cache writes, dearer than
 * input, outweighed the reads. Null when the model has no known price.
 */
export function cacheSavings(model: string, usage: Usage, at: Date): string | null {
  const actual = priceCall(model, usage, at).cost;
  if (actual === null) return null;
  const cached = (usage.cacheReadTokens ?? 0) + (usage.cacheWriteTokens ?? 0);
  if (cached === 0) return '0.00';
  const uncached = priceCall(model, { inputTokens: usage.inputTokens + cached, outputTokens: usage.outputTokens }, at).cost!;
  return formatUsd(new Decimal(uncached).minus(actual));
}

/** Sums decimal cost strings exactly; null entries (unknown prices) are skipped. */
export function addCosts(costs: readonly (string | null | undefined)[]): string {
  return formatUsd(costs.reduce<Decimal>((sum, cost) => (cost ? sum.plus(cost) : sum), new Decimal(0)));
}

/** Sums usages field by field. */
export function addUsage(usages: readonly Usage[]): Usage {
  const sum = (pick: (u: Usage) => number | undefined) => usages.reduce((total, u) => total + (pick(u) ?? 0), 0);
  return {
    inputTokens: sum((u) => u.inputTokens),
    outputTokens: sum((u) => u.outputTokens),
    cacheReadTokens: sum((u) => u.cacheReadTokens),
    cacheWriteTokens: sum((u) => u.cacheWriteTokens),
  };
}
