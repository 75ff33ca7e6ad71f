import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from './server.ts';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});

const post = async (path: string, body: unknown) => {
  const res = await fetch(`${emulator.url}${path}`, {
    method: 'POST',
    headers: { 'x-api-key': 'k', authorization: 'Bearer k', 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { usage: Record<string, unknown> };
};

// About 6,000 tokens at four characters a token: above every model's minimum cacheable length.
const longSystem = 'You are a careful assistant who answers in one line. '.repeat(460);
const tool = { name: 'lookup', description: 'Looks a word up.', input_schema: { type: 'object', properties: { word: { type: 'string' } } } };

describe('Anthropic prompt caching', () => {
  const request = (question: string, model = 'claude-sonnet-4-6') => ({
    model,
    max_tokens: 5,
    tools: [{ ...tool, cache_control: { type: 'ephemeral' } }],
    system: [{ type: 'text', text: longSystem, cache_control: { type: 'ephemeral' } }],
    messages: [{ role: 'user', content: question }],
  });

  it('writes the prompt up to the last breakpoint once, then reads it; input_tokens is the rest; count_tokens counts the whole prompt', async () => {
    const first = (await post('/v1/messages', request('What is a tide?'))).usage;
    expect(first.cache_creation_input_tokens).toBeGreaterThan(5000);
    expect(first.cache_read_input_tokens).toBe(0);
    const second = (await post('/v1/messages', request('What is a wave?'))).usage;
    expect(second).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: first.cache_creation_input_tokens, input_tokens: first.input_tokens });
    expect(second.input_tokens).toBeLessThan(20);

    const { max_tokens: _max, ...countable } = request('What is a tide?');
    const counted = (await post('/v1/messages/count_tokens', countable)) as unknown as { input_tokens: number };
    expect(counted.input_tokens).toBe((first.input_tokens as number) + (first.cache_creation_input_tokens as number));
  });

  it('caches nothing without a breakpoint, below the model\'s minimum, or for another model until it writes its own', async () => {
    const { system: _system, tools: _tools, ...plain } = request('Plain?');
    expect((await post('/v1/messages', { ...plain, system: longSystem })).usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    const short = { ...request('Short?'), system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }], tools: [tool] };
    expect((await post('/v1/messages', short)).usage).toMatchObject({ cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    // Haiku 4.5 caches from 4,096 tokens: this prompt qualifies, and is written for it separately.
    expect((await post('/v1/messages', request('Other model?', 'claude-haiku-4-5'))).usage.cache_creation_input_tokens).toBeGreaterThan(5000);
  });
});

describe('OpenAI automatic prompt caching', () => {
  const request = (question: string) => ({
    model: 'gpt-4o-mini',
    messages: [
      { role: 'system', content: longSystem },
      { role: 'user', content: question },
    ],
  });

  it('reports a repeated prefix of 1,024 tokens or more as cached_tokens, in steps of 128, inside prompt_tokens', async () => {
    const first = (await post('/v1/chat/completions', request('What is a tide?'))).usage as { prompt_tokens: number; prompt_tokens_details: { cached_tokens: number } };
    expect(first.prompt_tokens_details.cached_tokens).toBe(0);
    const second = (await post('/v1/chat/completions', request('What is a wave?'))).usage as typeof first;
    const cached = second.prompt_tokens_details.cached_tokens;
    expect(cached).toBeGreaterThanOrEqual(1024);
    expect((cached - 1024) % 128).toBe(0);
    expect(cached).toBeLessThanOrEqual(second.prompt_tokens);
    expect(second.prompt_tokens).toBe(first.prompt_tokens);
  });
});
