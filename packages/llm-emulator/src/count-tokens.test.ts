import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from './server.ts';

let emulator: Emulator;

beforeAll(async () => {
  emulator = await startEmulator({ apiKeys: ['good-key'] });
});
afterAll(async () => {
  await emulator.close();
});

const post = (path: string, body: unknown, key = 'good-key') =>
  fetch(`${emulator.url}${path}`, { method: 'POST', headers: { 'x-api-key': key, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' }, body: JSON.stringify(body) });

describe('Anthropic token counting wire format', () => {
  const request = { model: 'claude-x', system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'How many tokens is this prompt?' }] }] };

  it('answers input_tokens equal to what a Messages call with the same prompt reports', async () => {
    const counted = await post('/v1/messages/count_tokens', request);
    expect(counted.status).toBe(200);
    const { input_tokens } = (await counted.json()) as { input_tokens: number };
    const message = await post('/v1/messages', { ...request, max_tokens: 5 });
    const { usage } = (await message.json()) as { usage: { input_tokens: number } };
    expect(input_tokens).toBe(usage.input_tokens);
    expect(input_tokens).toBeGreaterThan(0);
  });

  it('refuses a bad key and a malformed body in the Anthropic error format', async () => {
    const unauthorized = await post('/v1/messages/count_tokens', request, 'wrong');
    expect(unauthorized.status).toBe(401);
    expect(await unauthorized.json()).toMatchObject({ type: 'error', error: { type: 'authentication_error' } });
    const invalid = await post('/v1/messages/count_tokens', { model: 'claude-x', messages: [] });
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: 'messages: at least one message is required' } });
  });
});
