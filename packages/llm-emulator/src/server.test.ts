import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from './server.ts';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: ['good-key'] });
});
afterAll(async () => {
  await emulator.close();
});
beforeEach(() => {
  emulator.reset();
});

const anthropic = (body: unknown, key = 'good-key') =>
  fetch(`${emulator.url}/v1/messages`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json' }, body: JSON.stringify(body) });
const openai = (body: unknown, key = 'good-key') =>
  fetch(`${emulator.openaiBaseUrl}/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify(body) });

/** `[event name or undefined, parsed data]` per SSE event. */
async function events(response: Response): Promise<[string | undefined, unknown][]> {
  const text = await response.text();
  return text
    .split('\n\n')
    .filter(Boolean)
    .map((block) => {
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)![1]!;
      return [event, data === '[DONE]' ? data : JSON.parse(data)];
    });
}

describe('Anthropic Messages wire format', () => {
  it('answers JSON with content, stop reason and usage', async () => {
    const response = await anthropic({ model: 'claude-x', max_tokens: 100, messages: [{ role: 'user', content: 'ping pong' }] });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-x',
      content: [{ type: 'text', text: 'Reply from claude-x: ping pong' }],
      stop_reason: 'end_turn',
      usage: { input_tokens: 3, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 },
    });
  });

  it('streams the SSE event sequence of the real API', async () => {
    const response = await anthropic({ model: 'claude-x', max_tokens: 3, stream: true, messages: [{ role: 'user', content: [{ type: 'text', text: 'a b c' }] }] });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const sequence = await events(response);
    expect(sequence.map(([name]) => name)).toEqual([
      'message_start',
      'content_block_start',
      'ping',
      'content_block_delta',
      'content_block_delta',
      'content_block_delta',
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(sequence.every(([name, data]) => (data as { type: string }).type === name)).toBe(true);
    expect(sequence[7]![1]).toMatchObject({ delta: { stop_reason: 'max_tokens' }, usage: { output_tokens: 3 } });
  });

  it('answers errors with the real body and status', async () => {
    const missing = await anthropic({ model: 'claude-x', messages: [{ role: 'user', content: 'x' }] });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });

    const unauthorized = await anthropic({ model: 'claude-x', max_tokens: 5, messages: [] }, 'bad-key');
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });

    emulator.script({ status: 529 }, { status: 429, retryAfterSeconds: 7 });
    const overloaded = await anthropic({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toMatchObject({ error: { type: 'overloaded_error', message: 'Overloaded' } });
    const limited = await anthropic({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(await limited.json()).toMatchObject({ error: { type: 'rate_limit_error' } });
  });
});

describe('OpenAI Chat Completions wire format', () => {
  it('answers JSON with the message, finish reason and usage including cached tokens', async () => {
    emulator.script({ reply: 'fixed answer', cacheReadTokens: 10 });
    const response = await openai({ model: 'gpt-x', messages: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'hello' }] });
    expect(await response.json()).toMatchObject({
      object: 'chat.completion',
      model: 'gpt-x',
      choices: [{ index: 0, message: { role: 'assistant', content: 'fixed answer' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 13, completion_tokens: 2, total_tokens: 15, prompt_tokens_details: { cached_tokens: 10 } },
    });
  });

  it('streams chunks, a usage chunk when asked, then [DONE]', async () => {
    const response = await openai({ model: 'gpt-x', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'hi' }] });
    const sequence = (await events(response)).map(([, data]) => data as { choices?: { delta: { content?: string }; finish_reason: string | null }[]; usage?: unknown });
    expect(sequence.at(-1)).toBe('[DONE]');
    const chunks = sequence.slice(0, -1);
    expect(chunks.map((c) => c.choices!.map((choice) => choice.delta.content ?? '').join('')).join('')).toBe('Reply from gpt-x: hi');
    expect(chunks.at(-2)!.choices![0]!.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 4 } });
  });

  it('sends no usage chunk unless include_usage is set', async () => {
    const sequence = await events(await openai({ model: 'gpt-x', stream: true, messages: [{ role: 'user', content: 'hi' }] }));
    expect(sequence.some(([, data]) => typeof data === 'object' && (data as { usage?: unknown }).usage)).toBe(false);
  });

  it('answers errors with the real body, status and retry-after', async () => {
    emulator.script({ status: 429, retryAfterSeconds: 2, message: 'Rate limit reached' }, { status: 500 });
    const limited = await openai({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(await limited.json()).toEqual({ error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } });
    const failed = await openai({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] });
    expect(failed.status).toBe(500);
    expect(await failed.json()).toMatchObject({ error: { type: 'server_error' } });
    const unauthorized = await openai({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] }, 'nope');
    expect(await unauthorized.json()).toMatchObject({ error: { code: 'invalid_api_key' } });
  });
});

describe('scripting and records', () => {
  it('applies scripted entries only to their provider, in order', async () => {
    emulator.script({ provider: 'openai', status: 500 }, { reply: 'first' });
    const fromAnthropic = await anthropic({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    expect(await fromAnthropic.json()).toMatchObject({ content: [{ text: 'first' }] });
    expect((await openai({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] })).status).toBe(500);
  });

  it('records each request body, including the tools sent, and its status', async () => {
    const tools = [{ type: 'web_search_20250305', name: 'web_search' }];
    await anthropic({ model: 'claude-x', max_tokens: 5, tools, messages: [{ role: 'user', content: 'x' }] });
    await openai({ model: 'gpt-x', messages: [] });
    expect(emulator.requests.map((r) => [r.provider, r.status, r.body.model])).toEqual([
      ['anthropic', 200, 'claude-x'],
      ['openai', 400, 'gpt-x'],
    ]);
    expect(emulator.requests[0]!.body.tools).toEqual(tools);
  });

  it('counts concurrent requests in flight per provider', async () => {
    emulator.setDefaults({ latencyMs: 150 });
    await Promise.all([1, 2, 3].map(() => openai({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] })));
    await anthropic({ model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] });
    await expect.poll(() => emulator.inFlight()).toMatchObject({ anthropic: { current: 0, max: 1 }, openai: { current: 0, max: 3 } });
  });

  it('counts the chunks it has streamed, so a load can check the pace it kept', async () => {
    emulator.script({ reply: 'one two three' });
    const before = emulator.inFlight().anthropic.streamedChunks;
    const response = await anthropic({ model: 'claude-x', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] });
    const body = await response.text();
    expect(body.match(/"text_delta"/g)).toHaveLength(3);
    expect(emulator.inFlight().anthropic.streamedChunks - before).toBe(3);
  });

  it('holds a reply back with a prompt directive until the client gives up', async () => {
    const controller = new AbortController();
    const pending = fetch(`${emulator.openaiBaseUrl}/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer good-key' },
      body: JSON.stringify({ model: 'gpt-x', messages: [{ role: 'user', content: 'wait [[emulator:latency=60000]]' }] }),
      signal: controller.signal,
    });
    await expect.poll(() => emulator.inFlight().openai.current).toBe(1);
    controller.abort();
    await expect(pending).rejects.toThrow();
    await expect.poll(() => emulator.inFlight().openai.current).toBe(0);
  });

  it('is scriptable over HTTP', async () => {
    const admin = (path: string, body?: unknown) =>
      fetch(`${emulator.url}/_emulator/${path}`, { method: body === undefined ? 'GET' : 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
    expect(await (await admin('script', { responses: [{ status: 503 }], defaults: { tokensPerSecond: 1000 } })).json()).toMatchObject({
      pending: 1,
      defaults: { tokensPerSecond: 1000 },
    });
    expect((await openai({ model: 'gpt-x', messages: [{ role: 'user', content: 'x' }] })).status).toBe(503);
    const { requests } = (await (await admin('requests')).json()) as { requests: unknown[] };
    expect(requests).toHaveLength(1);
    expect(await (await admin('in-flight')).json()).toMatchObject({ openai: { current: 0 } });
    await admin('reset', {});
    expect(emulator.requests).toHaveLength(0);
  });
});
