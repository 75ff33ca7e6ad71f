import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countAnthropicInputTokens } from './anthropic-count.ts';
import { checkCallBudget } from './call-check.ts';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

const at = new Date('2026-12-05T10:00:00Z');
// 4,000 characters: a 4,024-token byte bound, while the emulator counts 1,001 tokens (1,054 with the margin).
const request = { system: '', messages: [{ role: 'user' as const, content: 'abcd'.repeat(1000) }] };
// claude-haiku-4-5: $1 in, $5 out; 100 output tokens = $0.0005.
const call = { model: 'anthropic:claude-haiku-4-5', at, request, maxTokens: 100 };

describe('checkCallBudget', () => {
  const settings = () => ({ apiKey: 'k', baseUrl: emulator.anthropicBaseUrl });
  const counter = () => countAnthropicInputTokens(settings(), { model: 'claude-haiku-4-5', messages: request.messages });

  it('passes on the byte bound without asking the provider when the budget has room', async () => {
    const before = emulator.requests.length;
    const check = await checkCallBudget({ ...call, budget: '1', spentSoFar: '0', countTokens: counter });
    expect(check).toMatchObject({ ok: true, inputBoundBy: 'bytes', worstCase: { inputTokens: 4024, cost: '0.004524' } });
    expect(emulator.requests.length).toBe(before);
  });

  it('asks the provider\'s count when the byte bound does not fit, and passes on it', async () => {
    const check = await checkCallBudget({ ...call, budget: '0.002', spentSoFar: '0', countTokens: counter });
    expect(check).toMatchObject({ ok: true, inputBoundBy: 'provider count', worstCase: { inputTokens: 1054, cost: '0.001554' } });
    expect(emulator.requests.at(-1)!.path).toBe('/v1/messages/count_tokens');
  });

  it('fails with budget_exceeded when even the counted worst case does not fit', async () => {
    const check = await checkCallBudget({ ...call, budget: '0.0015', spentSoFar: '0', countTokens: counter });
    expect(check.ok).toBe(false);
    if (check.ok) return;
    expect(check.error.toJSON()).toMatchObject({ code: 'budget_exceeded', worstCase: '0.001554', remaining: '0.0015' });
  });

  it('relies on the byte bound alone for providers without a token-counting endpoint', async () => {
    const check = await checkCallBudget({ ...call, model: 'openai:gpt-4o', budget: '0.002', spentSoFar: '0' });
    expect(check).toMatchObject({ ok: false, inputBoundBy: 'bytes' });
  });
});
