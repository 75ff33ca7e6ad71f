import { describe, expect, it } from 'vitest';
import { BudgetExceededError, checkBudget, inputTokenUpperBound, UnpricedModelError, worstCaseCost } from './index.ts';

const day = new Date('2026-12-05T09:00:00Z');

describe('worstCaseCost', () => {
  it('prices the prompt bound at the input rate and maxTokens at the output rate', () => {
    // gpt-4o: $2.50 in, $10 out: 1,000 × 2.50 + 500 × 10 = 7,500 per million.
    expect(worstCaseCost({ model: 'openai:gpt-4o', at: day, inputTokens: 1000, maxTokens: 500 })).toEqual({
      cost: '0.0075',
      inputTokens: 1000,
      outputTokens: 500,
      priceEffectiveFrom: '2024-08-06',
      tier: 'base',
    });
  });

  it("falls back to the model's maximum output from the catalog when the call sets no maxTokens", () => {
    // claude-haiku-4-5 writes at most 64,000 tokens at $5: $0.32, plus 10 input tokens at $1.
    expect(worstCaseCost({ model: 'claude-haiku-4-5', at: day, inputTokens: 10 })).toMatchObject({ cost: '0.32001', outputTokens: 64000 });
  });

  it('prices prompt tokens at the cache-write rate when the call may write the cache', () => {
    const base = { model: 'claude-opus-4-6', at: day, inputTokens: 1_000_000, maxTokens: 0 };
    expect(worstCaseCost(base).cost).toBe('5.00');
    expect(worstCaseCost({ ...base, promptCaching: '5m' }).cost).toBe('6.25');
    expect(worstCaseCost({ ...base, promptCaching: '1h' }).cost).toBe('10.00');
  });

  it('uses the long-context tier when the prompt bound crosses the threshold, and the price of the call day', () => {
    expect(worstCaseCost({ model: 'claude-sonnet-4-5', at: day, inputTokens: 200_001, maxTokens: 0 })).toMatchObject({ cost: '1.200006', tier: 'long-context' });
    expect(worstCaseCost({ model: 'claude-sonnet-5-5', at: new Date('2026-10-01T00:00:00Z'), inputTokens: 1, maxTokens: 1 })).toMatchObject({
      priceEffectiveFrom: '2026-09-15',
    });
  });

  it('refuses a model without a price: a budgeted run cannot bound its cost', () => {
    expect(() => worstCaseCost({ model: 'openai:llama3.1', at: day, inputTokens: 1 })).toThrow(UnpricedModelError);
  });
});

describe('checkBudget', () => {
  it('lets a call through when what is spent plus its worst case fits, to the last digit', () => {
    expect(checkBudget({ budget: '1.00', spentSoFar: '0.75', worstCase: '0.25' })).toEqual({
      ok: true,
      figures: { budget: '1.00', spentSoFar: '0.75', worstCase: '0.25', remaining: '0.25' },
    });
  });

  it('stops the call with budget_exceeded and the figures when it might not fit', () => {
    const check = checkBudget({ budget: '1.00', spentSoFar: '0.75', worstCase: '0.250000000001' });
    expect(check.ok).toBe(false);
    const error = (check as { error: BudgetExceededError }).error;
    expect(error).toBeInstanceOf(BudgetExceededError);
    expect(error.toJSON()).toEqual({
      code: 'budget_exceeded',
      message: "the next model call could cost up to $0.250000000001, more than the $0.25 left of the run's $1.00 budget ($0.75 spent): the call was not made",
      budget: '1.00',
      spentSoFar: '0.75',
      worstCase: '0.250000000001',
      remaining: '0.25',
    });
  });

  it('takes a worst case object and refuses amounts that are not decimal strings', () => {
    const worstCase = worstCaseCost({ model: 'gpt-4o', at: day, inputTokens: 1, maxTokens: 1 });
    expect(worstCase.cost).toBe('0.0000125');
    expect(checkBudget({ budget: '0.0000125', spentSoFar: '0', worstCase }).ok).toBe(true);
    expect(checkBudget({ budget: '0.0000124', spentSoFar: '0', worstCase }).ok).toBe(false);
    expect(() => checkBudget({ budget: '-1', spentSoFar: '0', worstCase: '0' })).toThrow(RangeError);
    expect(() => checkBudget({ budget: '1e3', spentSoFar: '0', worstCase: '0' })).toThrow(RangeError);
  });
});

describe('inputTokenUpperBound', () => {
  it('counts UTF-8 bytes, so multi-byte text can never be undercounted, plus framing', () => {
    const ascii = inputTokenUpperBound({ messages: [{ role: 'user', content: 'abcd' }] });
    const emoji = inputTokenUpperBound({ messages: [{ role: 'user', content: '🙂🙂' }] });
    expect(ascii).toBe(16 + 8 + 4);
    expect(emoji).toBe(16 + 8 + 8);
  });

  it('adds tool definitions and tool turns as JSON and the tool-use overhead', () => {
    const withTools = inputTokenUpperBound({
      system: 'sys',
      messages: [{ role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'lookup', input: { q: 'x' } }] }],
      tools: [{ name: 'lookup', input_schema: { type: 'object' } }],
    });
    const toolUse = JSON.stringify([{ type: 'tool_use', id: 't1', name: 'lookup', input: { q: 'x' } }]).length;
    const tools = JSON.stringify([{ name: 'lookup', input_schema: { type: 'object' } }]).length;
    expect(withTools).toBe(16 + 3 + 8 + toolUse + 1024 + tools);
  });
});
