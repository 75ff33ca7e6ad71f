import { describe, expect, it } from 'vitest';
import { findModel, priceAt, utcDay } from './catalog.ts';
import { computeCost, priceCall } from './cost.ts';

const at = (iso: string) => new Date(iso);

describe('prices by date', () => {
  it('prices a call on each side of a price change at the rates in force that UTC day', () => {
    // Claude Sonnet 5.5's cache hits went from $0.20 to $0.10 per million tokens on 2026-10-07.
    const usage = { inputTokens: 1000, outputTokens: 100, cacheReadTokens: 1_000_000 };
    const before = priceCall('claude-sonnet-5-5', usage, at('2026-10-06T23:59:59.999Z'));
    const after = priceCall('claude-sonnet-5-5', usage, at('2026-10-07T00:00:00.000Z'));
    // 1000 × 2 + 100 × 10 + 1,000,000 × 0.20 (then 0.10), per million.
    expect(before).toMatchObject({ cost: '0.203', price: { effectiveFrom: '2026-09-15', tier: 'base' } });
    expect(after).toMatchObject({ cost: '0.103', price: { effectiveFrom: '2026-10-07', tier: 'base' } });
  });

  it('reads the day in UTC whatever the local offset of the instant', () => {
    // 01:30 on the 7th in UTC+2 is still the 6th in UTC: the old price.
    expect(computeCost('claude-sonnet-5-5', { inputTokens: 0, outputTokens: 0, cacheReadTokens: 1_000_000 }, at('2026-10-07T01:30:00+02:00')).cost).toBe('0.20');
    expect(utcDay(at('2026-10-07T01:30:00+02:00'))).toBe('2026-10-06');
  });

  it('prices calls before the first known price at the first price', () => {
    const model = findModel('claude-sonnet-5-5')!;
    expect(priceAt(model, at('2020-01-01T00:00:00Z'))).toBe(model.priceHistory[0]);
  });

  it('keeps Claude Sonnet 5 at $2 / $10 after 2026-08-31: the announced increase was cancelled', () => {
    const usage = { inputTokens: 1_000_000, outputTokens: 1_000_000 };
    expect(computeCost('claude-sonnet-5', usage, at('2026-08-31T23:00:00Z')).cost).toBe('12.00');
    expect(computeCost('claude-sonnet-5', usage, at('2026-09-01T01:00:00Z')).cost).toBe('12.00');
    expect(findModel('claude-sonnet-5')!.notes).toMatch(/cancelled/);
  });

  it('refuses an invalid call time rather than guessing a price', () => {
    expect(() => computeCost('gpt-4o', { inputTokens: 1, outputTokens: 1 }, new Date(Number.NaN))).toThrow(RangeError);
  });
});

describe('long-context tiers', () => {
  const day = at('2026-12-05T00:00:00Z');

  it('prices a whole Sonnet 4.5 request over 200,000 prompt tokens at the long-context rates', () => {
    const atLimit = priceCall('claude-sonnet-4-5', { inputTokens: 200_000, outputTokens: 1000 }, day);
    expect(atLimit).toMatchObject({ cost: '0.615', price: { tier: 'base' } }); // 200k × 3 + 1k × 15
    const over = priceCall('claude-sonnet-4-5', { inputTokens: 150_000, outputTokens: 1000, cacheReadTokens: 50_001 }, day);
    // 150,000 × 6 + 1,000 × 22.50 + 50,001 × 0.60, per million.
    expect(over).toMatchObject({ cost: '0.9525006', price: { tier: 'long-context' } });
  });

  it('prices Haiku 5.5 and GPT-5.5 by their own thresholds', () => {
    expect(priceCall('claude-haiku-5-5', { inputTokens: 100_001, outputTokens: 0 }, day)).toMatchObject({ cost: '0.0500005', price: { tier: 'long-context' } });
    expect(priceCall('claude-haiku-5-5', { inputTokens: 100_000, outputTokens: 0 }, day)).toMatchObject({ cost: '0.01', price: { tier: 'base' } });
    expect(priceCall('gpt-5.5', { inputTokens: 272_001, outputTokens: 1000 }, day)).toMatchObject({ cost: '2.76501', price: { tier: 'long-context' } });
  });
});

describe('cache tokens', () => {
  const day = at('2026-12-05T00:00:00Z');

  it('prices cache reads, 5-minute and 1-hour writes each at its own rate, exactly', () => {
    // Opus 4.6: input 5, output 25, read 0.50, 5-minute write 6.25, 1-hour write 10.
    const usage = { inputTokens: 3, outputTokens: 7, cacheReadTokens: 11, cacheWriteTokens: 13 + 17, cacheWrite1hTokens: 17 };
    // 3×5 + 7×25 + 11×0.5 + 13×6.25 + 17×10 = 15 + 175 + 5.5 + 81.25 + 170 = 446.75 per million.
    expect(computeCost('claude-opus-4-6', usage, day).cost).toBe('0.00044675');
  });

  it('prices OpenAI cached input at the model\'s discounted rate', () => {
    // gpt-4.1: input 2, cached 0.50, output 8.
    expect(computeCost('gpt-4.1', { inputTokens: 1, outputTokens: 1, cacheReadTokens: 1 }, day).cost).toBe('0.0000105');
  });

  it('refuses more 1-hour writes than writes', () => {
    expect(() => computeCost('claude-opus-4-6', { inputTokens: 0, outputTokens: 0, cacheWriteTokens: 1, cacheWrite1hTokens: 2 }, day)).toThrow(RangeError);
  });
});
