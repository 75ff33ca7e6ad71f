import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anthropicProvider } from '../providers/anthropic.ts';
import { countAnthropicInputTokens, withCountMargin } from './anthropic-count.ts';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: ['count-key'] });
});
afterAll(async () => {
  await emulator.close();
});

describe('counting Anthropic input tokens', () => {
  const request = { model: 'claude-haiku-4-5', system: 'You answer in one line.', messages: [{ role: 'user' as const, content: 'What is the capital of France? '.repeat(20) }] };

  it('asks the token-counting endpoint through the official SDK and never counts below what the call is billed', async () => {
    const settings = { apiKey: 'count-key', baseUrl: emulator.anthropicBaseUrl, retry: { baseDelayMs: 1, maxDelayMs: 1 } };
    const bound = await countAnthropicInputTokens(settings, request);
    const counted = emulator.requests.at(-1)!;
    expect(counted.path).toBe('/v1/messages/count_tokens');
    expect(counted.body).toEqual(request);

    const result = await anthropicProvider.create(settings).chat({ ...request, maxTokens: 5 });
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(bound).toBe(withCountMargin(result.usage.inputTokens));
    expect(bound).toBeGreaterThanOrEqual(result.usage.inputTokens);
  });

  it('fails with the provider error for a rejected key, without retrying it', async () => {
    const before = emulator.requests.length;
    await expect(countAnthropicInputTokens({ apiKey: 'wrong', baseUrl: emulator.anthropicBaseUrl }, request)).rejects.toMatchObject({ provider: 'anthropic', transient: false });
    expect(emulator.requests.slice(before).map((r) => r.status)).toEqual([401]);
  });
});
