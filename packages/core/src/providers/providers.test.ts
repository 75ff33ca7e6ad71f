import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { anthropicProvider } from './anthropic.ts';
import { ProviderAbortedError, ProviderError } from './errors.ts';
import { openaiProvider } from './openai.ts';
import type { ProviderDefinition, ProviderSettings } from './types.ts';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator();
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.reset();
});

const fastRetries: ProviderSettings['retry'] = { baseDelayMs: 5, maxDelayMs: 20 };

const cases: { definition: ProviderDefinition; model: string; baseUrl: () => string }[] = [
  { definition: anthropicProvider, model: 'claude-haiku-4-5', baseUrl: () => emulator.anthropicBaseUrl },
  { definition: openaiProvider, model: 'gpt-4o-mini', baseUrl: () => emulator.openaiBaseUrl },
];

describe.each(cases)('$definition.name provider through its official SDK', ({ definition, model, baseUrl }) => {
  const provider = (overrides: Partial<ProviderSettings> = {}) =>
    definition.create({ apiKey: 'sk-test-key-1234', baseUrl: baseUrl(), retry: fastRetries, ...overrides });
  const ownRequests = () => emulator.requests.filter((r) => r.provider === definition.id);

  it('returns a plain reply with text, usage, stop reason and model', async () => {
    const result = await provider().chat({ model, system: 'Be brief.', messages: [{ role: 'user', content: 'hello world' }] });
    expect(result.text).toBe(`Reply from ${model}: hello world`);
    expect(result.stopReason).toBe('end_turn');
    expect(result.model).toBe(model);
    expect(result.usage.outputTokens).toBe(5);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.warnings).toEqual([]);
    expect(ownRequests()[0]!.body.stream).not.toBe(true);
  });

  it('streams deltas in order that join to the final text, with usage', async () => {
    const deltas: string[] = [];
    const result = await provider().chat({
      model,
      messages: [{ role: 'user', content: 'one two three four five six' }],
      onDelta: (text) => deltas.push(text),
    });
    expect(deltas.length).toBe(9);
    expect(deltas.join('')).toBe(result.text);
    expect(result.text).toBe(`Reply from ${model}: one two three four five six`);
    expect(result.usage.outputTokens).toBe(9);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.stopReason).toBe('end_turn');
    expect(ownRequests()[0]!.body.stream).toBe(true);
  });

  it('reports max_tokens when the reply is cut short', async () => {
    const result = await provider().chat({ model, maxTokens: 2, messages: [{ role: 'user', content: 'a b c d' }], onDelta: () => {} });
    expect(result.text).toBe('Reply from ');
    expect(result.stopReason).toBe('max_tokens');
  });

  it('reports cache reads separately from plain input tokens', async () => {
    emulator.script({ cacheReadTokens: 40 });
    const result = await provider().chat({ model, messages: [{ role: 'user', content: 'cached' }] });
    expect(result.usage.cacheReadTokens).toBe(40);
    expect(result.usage.inputTokens).toBe(2);
  });

  it('aborts mid-stream at once with ProviderAbortedError', async () => {
    emulator.script({ tokensPerSecond: 20 });
    const controller = new AbortController();
    const deltas: string[] = [];
    const call = provider().chat({
      model,
      messages: [{ role: 'user', content: 'a long reply '.repeat(50) }],
      signal: controller.signal,
      onDelta: (text) => {
        deltas.push(text);
        if (deltas.length === 3) controller.abort();
      },
    });
    await expect(call).rejects.toBeInstanceOf(ProviderAbortedError);
    expect(deltas.length).toBeLessThan(10);
    await expect.poll(() => emulator.inFlight()[definition.id as 'anthropic' | 'openai'].current).toBe(0);
    expect(ownRequests()).toHaveLength(1);
  });

  it('does not call the provider when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(provider().chat({ model, messages: [{ role: 'user', content: 'x' }], signal: controller.signal })).rejects.toBeInstanceOf(
      ProviderAbortedError,
    );
    expect(ownRequests()).toHaveLength(0);
  });

  it('waits out a 429 retry-after, then succeeds', async () => {
    emulator.script({ status: 429, retryAfterSeconds: 1, message: 'slow down' });
    const retries: number[] = [];
    const started = Date.now();
    const result = await provider().chat({ model, messages: [{ role: 'user', content: 'again' }], onRetry: (n) => retries.push(n.delayMs) });
    expect(result.text).toBe(`Reply from ${model}: again`);
    expect(retries).toHaveLength(1);
    expect(retries[0]).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(ownRequests().map((r) => r.status)).toEqual([429, 200]);
  });

  it.each([529, 500, 503])('retries a %i, then succeeds', async (status) => {
    emulator.script({ status }, { status });
    const result = await provider().chat({ model, messages: [{ role: 'user', content: 'retry me' }], onDelta: () => {} });
    expect(result.text).toBe(`Reply from ${model}: retry me`);
    expect(ownRequests().map((r) => r.status)).toEqual([status, status, 200]);
  });

  it('retries a stream whose connection drops midway', async () => {
    emulator.script({ dropAfterChunks: 2 });
    const deltas: string[] = [];
    let retried = 0;
    const result = await provider().chat({
      model,
      messages: [{ role: 'user', content: 'dropped' }],
      onDelta: (text) => deltas.push(text),
      onRetry: () => {
        retried += 1;
        deltas.length = 0;
      },
    });
    expect(retried).toBe(1);
    expect(deltas.join('')).toBe(result.text);
    expect(result.text).toBe(`Reply from ${model}: dropped`);
  });

  it('retries after an error event in the middle of a stream', async () => {
    emulator.script({ status: 529, errorAfterChunks: 2 });
    const deltas: string[] = [];
    const failures: string[] = [];
    const result = await provider().chat({
      model,
      messages: [{ role: 'user', content: 'overloaded midway' }],
      onDelta: (text) => deltas.push(text),
      onRetry: ({ error }) => {
        failures.push(error.message);
        deltas.length = 0;
      },
    });
    expect(failures).toEqual(['Overloaded']);
    expect(deltas.join('')).toBe(result.text);
    expect(result.text).toBe(`Reply from ${model}: overloaded midway`);
  });

  it('surfaces a permanent error event in the middle of a stream at once', async () => {
    emulator.script({ status: 400, errorAfterChunks: 1, message: 'content policy' });
    const error = await provider()
      .chat({ model, messages: [{ role: 'user', content: 'x y z' }], onDelta: () => {} })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ transient: false, message: 'content policy' });
    expect(ownRequests()).toHaveLength(1);
  });

  it('gives up after the bounded number of retries with a transient error', async () => {
    emulator.script({ status: 500 }, { status: 500 }, { status: 500 });
    const error = await provider({ maxRetries: 2 })
      .chat({ model, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ transient: true, status: 500, kind: 'server_error' });
    expect(ownRequests()).toHaveLength(3);
  });

  it.each([
    [400, 'bad_request', 'messages: roles must alternate'],
    [401, 'auth', 'invalid x-api-key'],
    [403, 'forbidden', 'not allowed'],
    [404, 'not_found', 'model: nope'],
  ])('surfaces a %i at once with the provider message', async (status, kind, message) => {
    emulator.script({ status, message });
    const error = await provider()
      .chat({ model, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ provider: definition.id, status, kind, transient: false, message });
    expect(ownRequests()).toHaveLength(1);
  });

  it('aborts a hung call after the per-attempt timeout and retries it', async () => {
    emulator.script({ latencyMs: 5_000 });
    const result = await provider({ timeoutMs: 200 }).chat({ model, messages: [{ role: 'user', content: 'hung' }] });
    expect(result.text).toBe(`Reply from ${model}: hung`);
    expect(ownRequests()).toHaveLength(2);
  });

  it('maps a connection refused to a transient connection error', async () => {
    const error = await definition
      .create({ apiKey: 'k', baseUrl: 'http://127.0.0.1:9/v1', maxRetries: 0 })
      .chat({ model, messages: [{ role: 'user', content: 'x' }] })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'connection', transient: true });
  });
});

describe('built-in tool mapping', () => {
  it('sends web_search and web_fetch to Anthropic as server tools', async () => {
    const provider = anthropicProvider.create({ apiKey: 'k', baseUrl: emulator.anthropicBaseUrl });
    const result = await provider.chat({ model: 'claude-sonnet-4-6', tools: ['web_search', 'web_fetch'], messages: [{ role: 'user', content: 'q' }] });
    expect(result.warnings).toEqual([]);
    expect(emulator.requests[0]!.body.tools).toEqual([
      { type: 'web_search_20250305', name: 'web_search' },
      { type: 'web_fetch_20250910', name: 'web_fetch' },
    ]);
  });

  it('skips them on OpenAI with a warning and still answers', async () => {
    const provider = openaiProvider.create({ apiKey: 'k', baseUrl: emulator.openaiBaseUrl });
    const result = await provider.chat({ model: 'gpt-4.1', tools: ['web_search', 'web_fetch'], messages: [{ role: 'user', content: 'q' }] });
    expect(result.text).toBe('Reply from gpt-4.1: q');
    expect(result.warnings).toEqual([
      'built-in tool web_search is not available on OpenAI Chat Completions and was skipped',
      'built-in tool web_fetch is not available on OpenAI Chat Completions and was skipped',
    ]);
    expect(emulator.requests[0]!.body).not.toHaveProperty('tools');
  });

  it('sends the system prompt, max tokens and temperature in each wire format', async () => {
    await anthropicProvider
      .create({ apiKey: 'k', baseUrl: emulator.anthropicBaseUrl })
      .chat({ model: 'claude-haiku-4-5', system: 'S', maxTokens: 50, temperature: 0.2, messages: [{ role: 'user', content: 'u' }] });
    await openaiProvider
      .create({ apiKey: 'k', baseUrl: emulator.openaiBaseUrl })
      .chat({ model: 'gpt-4o', system: 'S', maxTokens: 50, temperature: 0.2, messages: [{ role: 'user', content: 'u' }] });
    expect(emulator.requests[0]!.body).toMatchObject({ system: 'S', max_tokens: 50, temperature: 0.2, messages: [{ role: 'user', content: 'u' }] });
    expect(emulator.requests[1]!.body).toMatchObject({
      max_completion_tokens: 50,
      temperature: 0.2,
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'u' },
      ],
    });
  });

  it('drops temperature for reasoning models with a warning', async () => {
    const result = await openaiProvider
      .create({ apiKey: 'k', baseUrl: emulator.openaiBaseUrl })
      .chat({ model: 'o4-mini', temperature: 0.5, messages: [{ role: 'user', content: 'u' }] });
    expect(result.warnings).toEqual(['temperature is not supported by o4-mini and was not sent']);
    expect(emulator.requests[0]!.body).not.toHaveProperty('temperature');
  });
});
