import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const refusal = async (path: string, body: unknown) => {
  const res = await api.call('POST', path, body);
  expect(res.status).toBe(400);
  return ((await res.json()) as { error: { message: string; details: { message: string }[] } }).error;
};

describe('validation messages', () => {
  it('name the field and say what is wrong in the product’s words', async () => {
    expect((await refusal('/v1/agents', { model: 'gpt-4o' })).message).toBe('body.name: required');
    expect((await refusal('/v1/agents', { name: '', model: 'gpt-4o' })).message).toBe('body.name: must not be empty');
    expect((await refusal('/v1/agents', { name: 'x'.repeat(201), model: 'gpt-4o' })).message).toBe('body.name: must be at most 200 characters');
    expect((await refusal('/v1/agents', { name: 'a', model: 'gpt-4o', maxTokens: 'many' })).message).toBe('body.maxTokens: must be a number');
    expect((await refusal('/v1/agents', { name: 'a', model: 'gpt-4o', colour: 'red' })).message).toBe('body: unknown field: colour');
    expect((await refusal('/v1/pipelines', { name: 'p', steps: [] })).message).toBe('body.steps: needs at least 1 item');
  });

  it('never passes on the library’s own wording', async () => {
    const error = await refusal('/v1/agents', { name: 5, model: null, tools: ['teleport'], temperature: 9 });
    for (const { message } of error.details) expect(message).not.toMatch(/Invalid input|Too (small|big)|Invalid option|expected .*, received/);
  });
});
