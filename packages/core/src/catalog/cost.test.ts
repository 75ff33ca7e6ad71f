import { describe, expect, it } from 'vitest';
import { findModel, listModels } from './catalog.ts';
import { addCosts, addUsage, computeCost, formatUsd } from './cost.ts';

/** The day the catalog was last checked: every price below is the one in force then. */
const checkedOn = new Date('2026-12-05T12:00:00Z');

describe('computeCost', () => {
  it.each([
    ['claude-sonnet-4-5', { inputTokens: 1000, outputTokens: 500 }, '0.0105'],
    ['claude-haiku-4-5', { inputTokens: 1200, outputTokens: 603, cacheReadTokens: 2000, cacheWriteTokens: 1000 }, '0.005665'],
    ['claude-sonnet-5-5', { inputTokens: 10, outputTokens: 20, cacheReadTokens: 30, cacheWriteTokens: 40 }, '0.000323'],
    ['gpt-4o-mini', { inputTokens: 1, outputTokens: 1 }, '0.00000075'],
    ['gpt-4o-mini', { inputTokens: 3, outputTokens: 7 }, '0.00000465'],
    ['gpt-5-nano', { inputTokens: 1, outputTokens: 0, cacheReadTokens: 1 }, '0.000000055'],
    ['gpt-5.4', { inputTokens: 1_234_567, outputTokens: 7_654_321, cacheReadTokens: 333 }, '117.90131575'],
    ['gpt-4.1-nano', { inputTokens: 1_000_000, outputTokens: 0 }, '0.10'],
    ['o3', { inputTokens: 0, outputTokens: 0 }, '0.00'],
    [
      'claude-opus-4-1',
      { inputTokens: Number.MAX_SAFE_INTEGER, outputTokens: 1_000_000_000_000, cacheReadTokens: 123_456_789, cacheWriteTokens: 987_654_321 },
      '135183007524.81856725',
    ],
  ])('%s with %j costs %s USD', (model, usage, expected) => {
    expect(computeCost(model, usage, checkedOn)).toEqual({ cost: expected, warnings: [] });
  });

  it('prices dated snapshots, aliases and provider:model ids like their model', () => {
    const usage = { inputTokens: 100, outputTokens: 100 };
    const expected = computeCost('gpt-4o', usage).cost;
    expect(expected).toBe('0.00125');
    expect(computeCost('gpt-4o-2024-08-06', usage).cost).toBe(expected);
    expect(computeCost('openai:gpt-4o', usage).cost).toBe(expected);
    expect(computeCost('claude-sonnet-4-5-20250929', usage).cost).toBe(computeCost('claude-sonnet-4-5', usage).cost);
  });

  it('bills cache tokens without a separate price at the input rate', () => {
    expect(computeCost('gpt-4o', { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 1000 }).cost).toBe('0.0025');
  });

  it('gives no cost and a warning for a model without a known price', () => {
    expect(computeCost('openai:llama3.1', { inputTokens: 10, outputTokens: 10 })).toEqual({
      cost: null,
      warnings: ['no known price for model "openai:llama3.1": cost not computed'],
    });
    expect(computeCost('anthropic:gpt-4o', { inputTokens: 1, outputTokens: 1 }).cost).toBeNull();
  });

  it('refuses token counts that are not non-negative integers', () => {
    expect(() => computeCost('gpt-4o', { inputTokens: 1.5, outputTokens: 0 })).toThrow(RangeError);
    expect(() => computeCost('gpt-4o', { inputTokens: -1, outputTokens: 0 })).toThrow(RangeError);
  });
});

describe('decimal helpers', () => {
  it('adds costs exactly where floating point would not', () => {
    expect(0.1 + 0.2).not.toBe(0.3);
    expect(addCosts(['0.1', '0.2', null])).toBe('0.30');
    expect(addCosts(['0.000000000001', '0.000000000002'])).toBe('0.000000000003');
    expect(addCosts([])).toBe('0.00');
  });

  it('renders up to 12 decimals, rounding half up', () => {
    expect(formatUsd('0.0000000000005')).toBe('0.000000000001');
    expect(formatUsd('12.5')).toBe('12.50');
    expect(formatUsd('7')).toBe('7.00');
  });

  it('adds usages field by field', () => {
    expect(addUsage([{ inputTokens: 1, outputTokens: 2, cacheReadTokens: 3 }, { inputTokens: 10, outputTokens: 20, cacheWriteTokens: 5 }])).toEqual({
      inputTokens: 11,
      outputTokens: 22,
      cacheReadTokens: 3,
      cacheWriteTokens: 5,
    });
  });
});

describe('catalog', () => {
  it('groups current models by provider with prices, date and source', () => {
    const groups = listModels();
    expect(groups.map((g) => g.provider)).toEqual(['anthropic', 'openai']);
    for (const group of groups) {
      expect(group.pricesCheckedOn).toMatch(/^\d{4}-\d{2}-\d{2}$/);
      expect(group.pricesSource).toMatch(/^https:\/\//);
      expect(group.models.length).toBeGreaterThan(5);
    }
    expect(groups[0]!.models.find((m) => m.id === 'claude-haiku-4-5')).toMatchObject({
      name: 'Claude Haiku 4.5',
      contextWindow: 200000,
      prices: { input: '1', output: '5', cacheRead: '0.10', cacheWrite: '1.25' },
    });
  });

  it('lists only the requested providers and leaves retired models out unless asked', () => {
    expect(listModels({ providers: ['openai'] }).map((g) => g.provider)).toEqual(['openai']);
    const anthropicIds = (options = {}) => listModels({ providers: ['anthropic'], ...options })[0]!.models.map((m) => m.id);
    expect(anthropicIds()).not.toContain('claude-opus-4-1');
    expect(anthropicIds({ includeRetired: true })).toContain('claude-opus-4-1');
  });

  it('finds models by id, alias and snapshot date', () => {
    expect(findModel('claude-3-5-haiku-latest')?.id).toBe('claude-3-5-haiku');
    expect(findModel('gpt-5-mini-2025-08-07')?.id).toBe('gpt-5-mini');
    expect(findModel('llama3.1')).toBeUndefined();
  });
});
