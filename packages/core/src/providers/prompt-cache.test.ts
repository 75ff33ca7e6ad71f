import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeCost, Decimal } from '../catalog/cost.ts';
import { anthropicProvider } from './anthropic.ts';
import { openaiProvider } from './openai.ts';
import type { Usage } from './types.ts';

let emulator: Emulator;
beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

// About 6,000 tokens: above every model's minimum cacheable prompt.
const system = 'You are a careful assistant who answers in one line. '.repeat(460);
const tools = [{ name: 'lookup', description: 'Looks a word up.', inputSchema: { type: 'object', properties: { word: { type: 'string' } } } }];
const at = new Date('2026-12-05T12:00:00Z');

/** Per million tokens, as the provider's price list states them. */
const priced = (usage: Usage, rates: { input: string; output: string; read: string; write: string }) =>
  new Decimal(usage.inputTokens)
    .times(rates.input)
    .plus(new Decimal(usage.outputTokens).times(rates.output))
    .plus(new Decimal(usage.cacheReadTokens ?? 0).times(rates.read))
    .plus(new Decimal(usage.cacheWriteTokens ?? 0).times(rates.write))
    .dividedBy(1_000_000);

describe('prompt caching', () => {
  it('marks the system prompt and the last tool with a cache_control breakpoint for Anthropic, and prices writes and reads at their own rates', async () => {
    const provider = anthropicProvider.create({ apiKey: 'k', baseUrl: emulator.anthropicBaseUrl });
    const ask = (question: string) => provider.chat({ model: 'claude-haiku-4-5', system, tools, cacheSystemPrompt: true, maxTokens: 20, messages: [{ role: 'user', content: question }] });

    const first = await ask('What is a tide?');
    const body = emulator.requests.at(-1)!.body as { system: unknown; tools: Array<Record<string, unknown>> };
    expect(body.system).toEqual([{ type: 'text', text: system, cache_control: { type: 'ephemeral' } }]);
    expect(body.tools.at(-1)).toMatchObject({ name: 'lookup', cache_control: { type: 'ephemeral' } });
    const second = await ask('What is a wave?');

    expect(first.usage.cacheWriteTokens).toBeGreaterThan(5000);
    expect(first.usage.cacheReadTokens).toBe(0);
    expect(second.usage).toMatchObject({ cacheReadTokens: first.usage.cacheWriteTokens, cacheWriteTokens: 0 });
    // claude-haiku-4-5: $1 input, $5 output, $1.25 cache writes (5 minutes), $0.10 cache reads.
    const haiku = { input: '1', output: '5', write: '1.25', read: '0.10' };
    for (const usage of [first.usage, second.usage]) {
      expect(new Decimal(computeCost('claude-haiku-4-5', usage, at).cost!).equals(priced(usage, haiku))).toBe(true);
    }
  });

  it('sends the system prompt as plain text, without breakpoints, when caching is off', async () => {
    const provider = anthropicProvider.create({ apiKey: 'k', baseUrl: emulator.anthropicBaseUrl });
    const result = await provider.chat({ model: 'claude-haiku-4-5', system, tools, maxTokens: 20, messages: [{ role: 'user', content: 'No cache?' }] });
    const body = emulator.requests.at(-1)!.body as { system: unknown; tools: Array<Record<string, unknown>> };
    expect(body.system).toBe(system);
    expect(body.tools.at(-1)).not.toHaveProperty('cache_control');
    expect(result.usage).toMatchObject({ cacheReadTokens: 0, cacheWriteTokens: 0 });
  });

  it("counts OpenAI's automatically cached tokens apart from the plain input, at the cached rate", async () => {
    const provider = openaiProvider.create({ apiKey: 'k', baseUrl: emulator.openaiBaseUrl });
    const ask = (question: string) => provider.chat({ model: 'gpt-4o-mini', system, maxTokens: 20, messages: [{ role: 'user', content: question }] });
    const first = await ask('What is a tide?');
    const second = await ask('What is a wave?');
    expect(first.usage.cacheReadTokens).toBe(0);
    expect(second.usage.cacheReadTokens).toBeGreaterThanOrEqual(1024);
    // The same prompt size: what was read from the cache is no longer counted as plain input.
    expect(second.usage.inputTokens + second.usage.cacheReadTokens!).toBe(first.usage.inputTokens);
    // gpt-4o-mini: $0.15 input, $0.60 output, $0.075 cached input.
    const mini = { input: '0.15', output: '0.60', write: '0', read: '0.075' };
    expect(new Decimal(computeCost('gpt-4o-mini', second.usage, at).cost!).equals(priced(second.usage, mini))).toBe(true);
  });
});
