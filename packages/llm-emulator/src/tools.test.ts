import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from './server.ts';

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

// biome-ignore lint/suspicious/noExplicitAny: wire bodies are read loosely in assertions
type Wire = any;
const post = async (path: string, body: unknown) => {
  const response = await fetch(`${emulator.url}${path}`, { method: 'POST', headers: { 'x-api-key': 'k', authorization: 'Bearer k' }, body: JSON.stringify(body) });
  return { status: response.status, json: () => response.json() as Promise<Wire>, text: () => response.text() };
};
const anthropic = (body: unknown) => post('/v1/messages', body);
const openai = (body: unknown) => post('/v1/chat/completions', body);

async function events(response: { text(): Promise<string> }): Promise<[string | undefined, Record<string, any>][]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const data = /^data: (.*)$/m.exec(block)![1]!;
      return [/^event: (.*)$/m.exec(block)?.[1], data === '[DONE]' ? { done: true } : JSON.parse(data)];
    });
}

const weatherSchema = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
const anthropicTools = [
  { name: 'get_weather', description: 'Weather', input_schema: weatherSchema },
  { name: 'get_time', description: 'Time', input_schema: { type: 'object', properties: { zone: { type: 'string', enum: ['UTC', 'CET'] } } } },
];
const openaiTools = anthropicTools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.input_schema } }));
const twoCalls = 'Plan the trip [[emulator:tool=get_weather {"city":"Paris [old town]"}]] [[emulator:tool=get_time]]';

describe('Anthropic tool use', () => {
  it('calls the tools the prompt names, in parallel, with inputs made up from the schema where absent', async () => {
    const response = await anthropic({ model: 'claude-x', max_tokens: 100, tools: anthropicTools, messages: [{ role: 'user', content: twoCalls }] });
    const body = await response.json();
    expect(body.stop_reason).toBe('tool_use');
    expect(body.content).toEqual([
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'Paris [old town]' } },
      { type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_time', input: { zone: 'UTC' } },
    ]);
    expect(body.usage.output_tokens).toBeGreaterThan(0);
  });

  it('streams tool_use blocks with the arguments in several input_json_delta fragments', async () => {
    const response = await anthropic({ model: 'claude-x', max_tokens: 100, stream: true, tools: anthropicTools, messages: [{ role: 'user', content: twoCalls }] });
    const sequence = await events(response);
    const starts = sequence.filter(([name, data]) => name === 'content_block_start' && data.content_block.type === 'tool_use');
    expect(starts.map(([, data]) => [data.index, data.content_block.name])).toEqual([
      [0, 'get_weather'],
      [1, 'get_time'],
    ]);
    const fragments = sequence.filter(([, data]) => data.delta?.type === 'input_json_delta' && data.index === 0).map(([, data]) => data.delta.partial_json);
    expect(fragments.length).toBeGreaterThan(1);
    expect(JSON.parse(fragments.join(''))).toEqual({ city: 'Paris [old town]' });
    expect(sequence.find(([name]) => name === 'message_delta')![1].delta.stop_reason).toBe('tool_use');
  });

  it('answers in text once the results arrive, echoing them', async () => {
    const response = await anthropic({
      model: 'claude-x',
      max_tokens: 100,
      tools: anthropicTools,
      messages: [
        { role: 'user', content: twoCalls },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny', is_error: true }] },
      ],
    });
    const body = await response.json();
    expect(body.stop_reason).toBe('end_turn');
    expect(body.content[0].text).toBe('Reply from claude-x: error sunny');
  });

  it('calls the tools of a later turn when the directive names it', async () => {
    const prompt = '[[emulator:tool=get_weather {"city":"Oslo"}]] [[emulator:tool@2=get_time {"zone":"CET"}]]';
    const response = await anthropic({
      model: 'claude-x',
      max_tokens: 100,
      tools: anthropicTools,
      messages: [
        { role: 'user', content: prompt },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Oslo' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'snow' }] },
      ],
    });
    expect((await response.json()).content).toEqual([{ type: 'tool_use', id: expect.any(String), name: 'get_time', input: { zone: 'CET' } }]);
  });

  it('makes one call only when parallel tool use is disabled', async () => {
    const response = await anthropic({
      model: 'claude-x',
      max_tokens: 100,
      tools: anthropicTools,
      tool_choice: { type: 'auto', disable_parallel_tool_use: true },
      messages: [{ role: 'user', content: twoCalls }],
    });
    expect((await response.json()).content.map((b: { name: string }) => b.name)).toEqual(['get_weather']);
  });

  it('refuses a tool_use without its tool_result in the next message, like the API', async () => {
    const response = await anthropic({
      model: 'claude-x',
      max_tokens: 100,
      tools: anthropicTools,
      messages: [
        { role: 'user', content: 'x' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: {} }] },
        { role: 'user', content: 'no results here' },
      ],
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error.message).toContain('`tool_use` ids were found without `tool_result` blocks immediately after: toolu_1');
  });

  it('gives structured output as JSON text for output_config.format, invalid first when scripted', async () => {
    const schema = { type: 'object', properties: { title: { type: 'string' }, score: { type: 'integer', minimum: 3 } }, required: ['title', 'score'], additionalProperties: false };
    const request = (messages: unknown[]) => anthropic({ model: 'claude-x', max_tokens: 100, output_config: { format: { type: 'json_schema', schema } }, messages });
    const valid = await (await request([{ role: 'user', content: 'rate it' }])).json();
    expect(JSON.parse(valid.content[0].text)).toEqual({ title: 'example', score: 3 });

    const prompt = { role: 'user', content: 'rate it [[emulator:invalid-output=1]]' };
    const first = await (await request([prompt])).json();
    expect(JSON.parse(first.content[0].text)).toBe('this value does not match the schema');
    const repaired = await (await request([prompt, { role: 'assistant', content: first.content[0].text }, { role: 'user', content: 'fix it' }])).json();
    expect(JSON.parse(repaired.content[0].text)).toEqual({ title: 'example', score: 3 });
  });

  it('answers a forced tool with an input made from its schema', async () => {
    const response = await anthropic({
      model: 'claude-x',
      max_tokens: 100,
      tools: [{ name: 'answer', input_schema: weatherSchema }],
      tool_choice: { type: 'tool', name: 'answer' },
      messages: [{ role: 'user', content: 'x' }],
    });
    const body = await response.json();
    expect(body.stop_reason).toBe('tool_use');
    expect(body.content).toEqual([{ type: 'tool_use', id: expect.any(String), name: 'answer', input: { city: 'example' } }]);
  });
});

describe('OpenAI tool calls', () => {
  it('returns tool_calls with JSON arguments and finish_reason tool_calls', async () => {
    const response = await openai({ model: 'gpt-x', tools: openaiTools, messages: [{ role: 'user', content: twoCalls }] });
    const choice = (await response.json()).choices[0];
    expect(choice.finish_reason).toBe('tool_calls');
    expect(choice.message.content).toBeNull();
    expect(choice.message.tool_calls).toEqual([
      { id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris [old town]"}' } },
      { id: expect.stringMatching(/^call_/), type: 'function', function: { name: 'get_time', arguments: '{"zone":"UTC"}' } },
    ]);
  });

  it('streams tool_calls chunks: id and name first, then argument fragments by index', async () => {
    const response = await openai({ model: 'gpt-x', stream: true, stream_options: { include_usage: true }, tools: openaiTools, messages: [{ role: 'user', content: twoCalls }] });
    const sequence = (await events(response)).map(([, data]) => data);
    const deltas = sequence.flatMap((data) => data.choices?.[0]?.delta?.tool_calls ?? []);
    expect(deltas.filter((d: { id?: string }) => d.id).map((d: { index: number; function: { name: string } }) => [d.index, d.function.name])).toEqual([
      [0, 'get_weather'],
      [1, 'get_time'],
    ]);
    const first = deltas.filter((d: { index: number; id?: string }) => d.index === 0 && !d.id).map((d: { function: { arguments: string } }) => d.function.arguments);
    expect(first.length).toBeGreaterThan(1);
    expect(JSON.parse(first.join(''))).toEqual({ city: 'Paris [old town]' });
    expect(sequence.find((data) => data.choices?.[0]?.finish_reason)!.choices[0].finish_reason).toBe('tool_calls');
    expect(sequence.at(-2)!.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('answers after tool messages and refuses an unanswered tool call like the API', async () => {
    const call = { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } };
    const answered = await openai({
      model: 'gpt-x',
      tools: openaiTools,
      parallel_tool_calls: false,
      messages: [{ role: 'user', content: twoCalls }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', tool_call_id: 'call_1', content: '{"temp":21}' }],
    });
    expect((await answered.json()).choices[0].message.content).toBe('Reply from gpt-x: result {"temp":21}');

    const unanswered = await openai({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'user', content: 'y' }] });
    expect(unanswered.status).toBe(400);
    expect((await unanswered.json()).error.message).toContain("did not have response messages: call_1");
  });

  it('gives JSON for a json_schema response_format and rejects a strict schema OpenAI would reject', async () => {
    const schema = { type: 'object', properties: { tags: { type: 'array', items: { type: 'string' } } }, required: ['tags'], additionalProperties: false };
    const ok = await openai({ model: 'gpt-x', response_format: { type: 'json_schema', json_schema: { name: 'tags', schema, strict: true } }, messages: [{ role: 'user', content: 'x' }] });
    expect(JSON.parse((await ok.json()).choices[0].message.content)).toEqual({ tags: ['example'] });

    const loose = { type: 'object', properties: { tags: { type: 'string' } } };
    const refused = await openai({ model: 'gpt-x', response_format: { type: 'json_schema', json_schema: { name: 'tags', schema: loose, strict: true } }, messages: [{ role: 'user', content: 'x' }] });
    expect(refused.status).toBe(400);
    expect((await refused.json()).error.message).toContain("'additionalProperties' is required to be supplied and to be false");
  });

  it('gives the scripted tool calls and structured value over the admin API', async () => {
    await post('/_emulator/script', { responses: [{ toolCalls: [{ name: 'get_time', input: { zone: 'CET' } }] }, { json: { tags: [] } }] });
    const called = await (await openai({ model: 'gpt-x', tools: openaiTools, messages: [{ role: 'user', content: 'x' }] })).json();
    expect(called.choices[0].message.tool_calls[0].function).toEqual({ name: 'get_time', arguments: '{"zone":"CET"}' });
    const structured = await (await openai({ model: 'gpt-x', response_format: { type: 'json_schema', json_schema: { name: 't', schema: {} } }, messages: [{ role: 'user', content: 'x' }] })).json();
    expect(structured.choices[0].message.content).toBe('{"tags":[]}');
  });
});
