import DecimalJs from 'decimal.js';
import { describe, expect, it } from 'vitest';
import { type CacheRule, type CatalogModel, type DatedPrice, listModels, utcDay } from './catalog.ts';

/**
 * The providers' published rules for cache prices. A price that breaks one is a
 * typo unless the model names the exception and its source.
 */
const groups = listModels({ includeRetired: true });
const models = groups.flatMap((g) => g.models.map((model) => ({ model, rules: g.cacheRules })));

function tiers(price: DatedPrice) {
  return [
    { label: `from ${price.effectiveFrom}`, rates: price },
    ...(price.longContext ? [{ label: `from ${price.effectiveFrom}, long context`, rates: price.longContext }] : []),
  ];
}

function violations(model: CatalogModel, rules: Partial<Record<CacheRule, string>> | undefined): string[] {
  const excepted = new Set(model.exceptions.map((e) => e.rule));
  const found: string[] = [];
  for (const price of model.priceHistory) {
    for (const { label, rates } of tiers(price)) {
      const input = new DecimalJs(rates.input);
      for (const [rule, multiple] of Object.entries(rules ?? {}) as Array<[CacheRule, string]>) {
        const actual = rates[rule];
        if (actual === null || actual === undefined || excepted.has(rule)) continue;
        const expected = input.times(multiple);
        if (!expected.equals(actual)) found.push(`${model.id} ${label}: ${rule} ${actual} ≠ ${multiple} × ${rates.input} = ${expected.toString()}`);
      }
      if (model.cacheDiscount !== undefined && rates.cacheRead !== null && !excepted.has('cacheRead')) {
        const expected = input.times(new DecimalJs(1).minus(model.cacheDiscount));
        if (!expected.equals(rates.cacheRead)) found.push(`${model.id} ${label}: cached input ${rates.cacheRead} ≠ ${rates.input} less ${model.cacheDiscount} = ${expected.toString()}`);
      }
    }
  }
  return found;
}

describe('catalog consistency', () => {
  it('follows Anthropic\'s published cache rules (read 0.1 ×, 5-minute write 1.25 ×, 1-hour write 2 × input) unless an exception names its source', () => {
    const anthropic = models.filter((m) => m.model.provider === 'anthropic');
    expect(anthropic.length).toBeGreaterThan(10);
    expect(anthropic.flatMap(({ model, rules }) => violations(model, rules))).toEqual([]);
  });

  it('prices OpenAI cached input at each model\'s published discount', () => {
    const openai = models.filter((m) => m.model.provider === 'openai');
    for (const { model } of openai) expect(model.cacheDiscount, model.id).toBeDefined();
    expect(openai.flatMap(({ model, rules }) => violations(model, rules))).toEqual([]);
  });

  it('catches a cache price that breaks the rule without an exception', () => {
    const broken: CatalogModel = {
      ...models[0]!.model,
      exceptions: [],
      priceHistory: [{ ...models[0]!.model.priceHistory[0]!, input: '3', cacheRead: '0.20', cacheWrite: '3.75', cacheWrite1h: '6', longContext: undefined }],
    };
    expect(violations(broken, { cacheRead: '0.1', cacheWrite: '1.25', cacheWrite1h: '2' })).toEqual([`${broken.id} from ${broken.priceHistory[0]!.effectiveFrom}: cacheRead 0.20 ≠ 0.1 × 3 = 0.3`]);
  });

  it('gives every price its effective day, an https source, the day it was checked and how', () => {
    for (const { model } of models) {
      const days = model.priceHistory.map((p) => p.effectiveFrom);
      expect(new Set(days).size, `${model.id}: two prices on one day`).toBe(days.length);
      for (const price of model.priceHistory) {
        expect(price.source).toMatch(/^https:\/\//);
        expect(price.checkedOn <= utcDay(new Date())).toBe(true);
        expect(price.effectiveFrom <= price.checkedOn).toBe(true);
        expect(['official', 'secondary', 'not-found']).toContain(price.verification);
        if (price.verification !== 'official') expect(price.note, `${model.id}: say why the price is not from the official page`).toBeTruthy();
      }
    }
  });

  it('names the source of every exception', () => {
    for (const { model } of models) for (const exception of model.exceptions) expect(exception.source).toMatch(/^https:\/\//);
  });
});
