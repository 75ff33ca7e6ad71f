import DecimalJs from 'decimal.js';
import type { Usage } from '../providers/types.ts';
import { findModel } from './catalog.ts';

/** Enough significant digits for any realistic token count times any price. */
const Decimal = DecimalJs.clone({ precision: 50, rounding: DecimalJs.ROUND_HALF_UP });
type Decimal = InstanceType<typeof Decimal>;

const perMillion = new Decimal(1_000_000);
/** Costs keep 12 decimals (a millionth of a millionth of a dollar). */
const costDecimals = 12;

export interface CostResult {
  /** USD as a decimal string such as "0.004215"; null when the model's prices are unknown. */
  cost: string | null;
  warnings: string[];
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

/**
 * The cost of one call: each kind of token at its own price per million.
 * Cache reads/writes without a separate price are billed as plain input.
 */
export function computeCost(model: string, usage: Usage): CostResult {
  const entry = findModel(model);
  if (!entry) return { cost: null, warnings: [`no known price for model "${model}": cost not computed`] };
  const { prices } = entry;
  const input = new Decimal(prices.input);
  const total = tokens(usage.inputTokens)
    .times(input)
    .plus(tokens(usage.outputTokens).times(prices.output))
    .plus(tokens(usage.cacheReadTokens).times(prices.cacheRead ?? input))
    .plus(tokens(usage.cacheWriteTokens).times(prices.cacheWrite ?? input))
    .dividedBy(perMillion);
  return { cost: formatUsd(total), warnings: [] };
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
