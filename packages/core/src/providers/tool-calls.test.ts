import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateJson } from '../json-schema/validate.ts';
import { anthropicProvider } from './anthropic.ts';
import { toolCallFrom } from './messages.ts';
import { openaiProvider } from './openai.ts';
import type { ChatMessage, ProviderDefinition, ToolCallDelta, ToolDefinition } from './types.ts';

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

const weather: ToolDefinition = {
  name: 'get_weather',
  description: 'Current weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false },
};
const clock: ToolDefinition = { name: 'get_time', inputSchema: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } } } };
const prompt = 'Plan a day out [[emulator:tool=get_weather {"city":"Lyon"}]] [[emulator:tool=get_time]]';

const cases: { definition: ProviderDefinition; model: string; baseUrl: () => string }[] = [
  { definition: anthropicProvider, model: 'claude-haiku-4-5', baseUrl: () => emulator.anthropicBaseUrl },
  { definition: openaiProvider, model: 'gpt-4o-mini', baseUrl: () => emulator.openaiBaseUrl },
];

describe.each(cases)('$definition.name tool calls through its official SDK', ({ definition, model, baseUrl }) => {
  const provider = () => definition.create({ apiKey: 'sk-test', baseUrl: baseUrl(), retry: { baseDelayMs: 5, maxDelayMs: 20 } });
  const lastBody = () => emulator.requests.filter((r) => r.provider === definition.id).at(-1)!.body as Record<string, any>;

  it.each([false, true])('returns parallel tool calls with parsed inputs and stop reason tool_use (streamed: %s)', async (streamed) => {
    const deltas: ToolCallDelta[] = [];
    const result = await provider().chat({
      model,
      messages: [{ role: 'user', content: prompt }],
      tools: [weather, clock],
      ...(streamed ? { onDelta: () => {}, onToolCallDelta: (d: ToolCallDelta) => deltas.push(d) } : {}),
    });
    expect(result.stopReason).toBe('tool_use');
    expect(result.toolCalls!.map((c) => [c.name, c.input])).toEqual([
      ['get_weather', { city: 'Lyon' }],
      ['get_time', { zone: 'UTC' }],
    ]);
    expect(new Set(result.toolCalls!.map((c) => c.id)).size).toBe(2);
    expect(result.usage.outputTokens).toBeGreaterThan(0);
    expect(result.usage.inputTokens).toBeGreaterThan(0);
    expect(result.message).toEqual({
      role: 'assistant',
      content: result.toolCalls!.map((c) => ({ type: 'tool_call', id: c.id, name: c.name, input: c.input })),
    });
    if (streamed) {
      const first = deltas.filter((d) => d.index === 0);
      expect(first.length).toBeGreaterThan(1);
      expect(first.every((d) => d.id === result.toolCalls![0]!.id && d.name === 'get_weather')).toBe(true);
      expect(first.map((d) => d.inputTextDelta).join('')).toBe(result.toolCalls![0]!.inputText);
    }
  });

  it.each([false, true])('sends results back (one an error) and gets the final answer (streamed: %s)', async (streamed) => {
    const stream = streamed ? { onDelta: () => {} } : {};
    const messages: ChatMessage[] = [{ role: 'user', content: prompt }];
    const first = await provider().chat({ model, messages, tools: [weather, clock], ...stream });
    const [rain, time] = first.toolCalls!;
    messages.push(first.message!, {
      role: 'user',
      content: [
        { type: 'tool_result', toolCallId: rain!.id, output: '{"sky":"rain"}' },
        { type: 'tool_result', toolCallId: time!.id, output: 'clock unavailable', isError: true },
      ],
    });
    const second = await provider().chat({ model, messages, tools: [weather, clock], ...stream });
    expect(second.stopReason).toBe('end_turn');
    expect(second.toolCalls).toEqual([]);
    const body = lastBody();
    if (definition.id === 'anthropic') {
      expect(second.text).toBe(`Reply from ${model}: result {"sky":"rain"}; error clock unavailable`);
      expect(body.messages[1].content).toEqual([
        { type: 'tool_use', id: rain!.id, name: 'get_weather', input: { city: 'Lyon' } },
        { type: 'tool_use', id: time!.id, name: 'get_time', input: { zone: 'UTC' } },
      ]);
      expect(body.messages[2].content).toEqual([
        { type: 'tool_result', tool_use_id: rain!.id, content: '{"sky":"rain"}' },
        { type: 'tool_result', tool_use_id: time!.id, content: 'clock unavailable', is_error: true },
      ]);
    } else {
      expect(second.text).toBe(`Reply from ${model}: result {"sky":"rain"}; result Error: clock unavailable`);
      expect(body.messages[1]).toMatchObject({ role: 'assistant', content: null, tool_calls: [{ id: rain!.id, function: { name: 'get_weather', arguments: '{"city":"Lyon"}' } }, { id: time!.id }] });
      expect(body.messages.slice(2)).toEqual([
        { role: 'tool', tool_call_id: rain!.id, content: '{"sky":"rain"}' },
        { role: 'tool', tool_call_id: time!.id, content: 'Error: clock unavailable' },
      ]);
    }
  });

  it('asks for one call at a time when parallel calls are off', async () => {
    const result = await provider().chat({ model, messages: [{ role: 'user', content: prompt }], tools: [weather, clock], parallelToolCalls: false });
    expect(result.toolCalls!.map((c) => c.name)).toEqual(['get_weather']);
    const body = lastBody();
    if (definition.id === 'anthropic') expect(body.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    else expect(body.parallel_tool_calls).toBe(false);
  });

  it('sends function tools in the wire format beside the built-ins it supports', async () => {
    const result = await provider().chat({ model, messages: [{ role: 'user', content: 'hi' }], tools: ['web_search', weather, clock] });
    expect(result.text).toBe(`Reply from ${model}: hi`);
    const body = lastBody();
    if (definition.id === 'anthropic') {
      expect(body.tools).toEqual([
        { type: 'web_search_20250305', name: 'web_search' },
        { name: 'get_weather', description: 'Current weather in a city', input_schema: weather.inputSchema },
        { name: 'get_time', input_schema: clock.inputSchema },
      ]);
      expect(result.warnings).toEqual([]);
    } else {
      // Strict only where the schema meets OpenAI's rules (get_time's property is optional).
      expect(body.tools).toEqual([
        { type: 'function', function: { name: 'get_weather', description: 'Current weather in a city', parameters: weather.inputSchema, strict: true } },
        { type: 'function', function: { name: 'get_time', parameters: clock.inputSchema } },
      ]);
      expect(result.warnings).toEqual(['built-in tool web_search is not available on OpenAI Chat Completions and was skipped']);
    }
  });

  it('keeps arguments that are not valid JSON as text, with the parse error', () => {
    expect(toolCallFrom('call_1', 'get_weather', '{"city":"Ly')).toMatchObject({ input: {}, inputText: '{"city":"Ly', inputError: expect.stringContaining('not valid JSON') });
  });
});

const review = {
  type: 'object',
  properties: { title: { type: 'string' }, score: { type: 'integer', minimum: 1, maximum: 5 } },
  required: ['title', 'score'],
  additionalProperties: false,
};

describe('structured output', () => {
  const anthropic = () => anthropicProvider.create({ apiKey: 'k', baseUrl: emulator.anthropicBaseUrl });
  const openai = () => openaiProvider.create({ apiKey: 'k', baseUrl: emulator.openaiBaseUrl });
  const lastBody = () => emulator.requests.at(-1)!.body as Record<string, any>;
  const ask = [{ role: 'user' as const, content: 'Review the film' }];

  it('uses OpenAI json_schema, strict when the schema meets the strict rules', async () => {
    const result = await openai().chat({ model: 'gpt-4o', messages: ask, outputSchema: review, outputSchemaName: 'film review' });
    expect(result.structuredOutput).toBe('native');
    expect(lastBody().response_format).toEqual({ type: 'json_schema', json_schema: { name: 'film_review', schema: review, strict: true } });
    expect(validateJson(JSON.parse(result.text), review)).toEqual({ valid: true });

    const loose = { type: 'object', properties: { title: { type: 'string' } } };
    await openai().chat({ model: 'gpt-4o', messages: ask, outputSchema: loose });
    expect(lastBody().response_format.json_schema).toEqual({ name: 'output', schema: loose, strict: false });
  });

  it('uses Anthropic output_config.format on models that have it', async () => {
    const deltas: string[] = [];
    const result = await anthropic().chat({ model: 'claude-sonnet-4-5', messages: ask, outputSchema: review, onDelta: (t) => deltas.push(t) });
    expect(result.structuredOutput).toBe('native');
    // Constraints Anthropic does not support travel in the description; ajv still checks them afterwards.
    expect(lastBody().output_config.format).toMatchObject({ type: 'json_schema', schema: { type: 'object', required: ['title', 'score'], additionalProperties: false } });
    expect(lastBody().tools).toBeUndefined();
    expect(deltas.join('')).toBe(result.text);
    expect(validateJson(JSON.parse(result.text), review)).toEqual({ valid: true });
  });

  it.each([false, true])('falls back to a forced tool on older Claude models, its input read as the answer (streamed: %s)', async (streamed) => {
    const deltas: string[] = [];
    const result = await anthropic().chat({ model: 'claude-3-7-sonnet-latest', messages: ask, outputSchema: review, ...(streamed ? { onDelta: (t: string) => deltas.push(t) } : {}) });
    expect(result.structuredOutput).toBe('tool');
    expect(lastBody().tool_choice).toEqual({ type: 'tool', name: 'output' });
    expect(lastBody().tools[0]).toMatchObject({ name: 'output', input_schema: review });
    expect(result.stopReason).toBe('end_turn');
    expect(result.toolCalls).toEqual([]);
    expect(JSON.parse(result.text)).toEqual({ title: 'example', score: 1 });
    expect(result.message).toEqual({ role: 'assistant', content: result.text });
    if (streamed) expect(deltas.join('')).toBe(result.text);
  });

  it('wraps a non-object schema for the forced tool and unwraps the answer', async () => {
    const list = { type: 'array', items: { type: 'string' }, minItems: 2 };
    const result = await anthropic().chat({ model: 'claude-3-5-haiku-latest', messages: ask, outputSchema: list });
    expect(lastBody().tools[0].input_schema).toEqual({ type: 'object', properties: { value: list }, required: ['value'] });
    expect(JSON.parse(result.text)).toEqual(['example', 'example']);
  });

  it('names the forced tool apart from a function tool called the same', async () => {
    const output: ToolDefinition = { name: 'output', inputSchema: { type: 'object' } };
    const result = await anthropic().chat({ model: 'claude-3-7-sonnet-latest', messages: ask, tools: [output], outputSchema: review });
    expect(lastBody().tools.map((t: { name: string }) => t.name)).toEqual(['output', 'output_answer']);
    expect(lastBody().tool_choice).toEqual({ type: 'any' });
    expect(result.structuredOutput).toBe('tool');
  });

  it('lets the model call other tools before the forced answer', async () => {
    const messages: ChatMessage[] = [{ role: 'user', content: 'Review it [[emulator:tool=get_weather {"city":"Nice"}]]' }];
    const first = await anthropic().chat({ model: 'claude-3-7-sonnet-latest', messages, tools: [weather], outputSchema: review });
    expect(lastBody().tool_choice).toEqual({ type: 'any' });
    expect(first.toolCalls!.map((c) => c.name)).toEqual(['get_weather']);
    messages.push(first.message!, { role: 'user', content: [{ type: 'tool_result', toolCallId: first.toolCalls![0]!.id, output: 'sunny' }] });
    emulator.script({ toolCalls: [{ name: 'output', input: { title: 'Sunny film', score: 4 } }] });
    const second = await anthropic().chat({ model: 'claude-3-7-sonnet-latest', messages, tools: [weather], outputSchema: review });
    expect(second.text).toBe('{"title":"Sunny film","score":4}');
    expect(second.stopReason).toBe('end_turn');
  });

  it.each([
    ['openai', 'gpt-4o'],
    ['anthropic', 'claude-sonnet-4-5'],
    ['anthropic', 'claude-3-7-sonnet-latest'],
  ] as const)('gives an invalid answer when scripted, then a valid one on the repair turn (%s %s)', async (which, model) => {
    const provider = which === 'openai' ? openai() : anthropic();
    const messages: ChatMessage[] = [{ role: 'user', content: 'Review the film [[emulator:invalid-output=1]]' }];
    const first = await provider.chat({ model, messages, outputSchema: review });
    const check = validateJson(JSON.parse(first.text), review);
    expect(check).toEqual({ valid: false, errors: ['(root): must be object'] });
    messages.push(first.message!, { role: 'user', content: `Your answer is not valid: ${check.valid ? '' : check.errors.join('; ')}` });
    const repaired = await provider.chat({ model, messages, outputSchema: review });
    expect(validateJson(JSON.parse(repaired.text), review)).toEqual({ valid: true });
  });
});

describe("the emulator's streams, read by the SDKs' own stream accumulators", () => {
  it('Anthropic MessageStream assembles the tool_use blocks', async () => {
    const { default: Anthropic } = await import('@anthropic-ai/sdk');
    const client = new Anthropic({ apiKey: 'k', baseURL: emulator.anthropicBaseUrl });
    const tools = [weather, clock].map((t) => ({ name: t.name, input_schema: t.inputSchema as { type: 'object' } }));
    const message = await client.messages.stream({ model: 'claude-haiku-4-5', max_tokens: 200, tools, messages: [{ role: 'user', content: prompt }] }).finalMessage();
    expect(message.stop_reason).toBe('tool_use');
    expect(message.content.map((b) => (b.type === 'tool_use' ? [b.name, b.input] : b.type))).toEqual([
      ['get_weather', { city: 'Lyon' }],
      ['get_time', { zone: 'UTC' }],
    ]);
    expect(message.usage.output_tokens).toBeGreaterThan(0);
  });

  it('OpenAI ChatCompletionStream assembles the tool_calls', async () => {
    const { default: OpenAI } = await import('openai');
    const client = new OpenAI({ apiKey: 'k', baseURL: emulator.openaiBaseUrl });
    const tools = [weather, clock].map((t) => ({ type: 'function' as const, function: { name: t.name, parameters: t.inputSchema } }));
    const completion = await client.chat.completions
      .stream({ model: 'gpt-4o-mini', tools, stream_options: { include_usage: true }, messages: [{ role: 'user', content: prompt }] })
      .finalChatCompletion();
    const choice = completion.choices[0]!;
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.tool_calls!.map((c) => (c.type === 'function' ? [c.function.name, JSON.parse(c.function.arguments)] : c.type))).toEqual([
      ['get_weather', { city: 'Lyon' }],
      ['get_time', { zone: 'UTC' }],
    ]);
    expect(completion.usage!.completion_tokens).toBeGreaterThan(0);
  });
});
