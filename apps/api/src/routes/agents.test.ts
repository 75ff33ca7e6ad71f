import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const json = async (res: Response) => (await res.json()) as any;

const createAgent = async (body: Record<string, unknown>) => {
  const res = await api.call('POST', '/v1/agents', { name: 'Writer', model: 'claude-sonnet-4-5', ...body });
  return { res, body: (await res.json()) as Record<string, any> };
};

describe('agents', () => {
  it('creates, reads, updates and deletes an agent', async () => {
    const created = await createAgent({ systemPrompt: 'Be brief.', temperature: 0.3, maxTokens: 500, tools: ['web_search'] });
    expect(created.res.status).toBe(201);
    expect(created.body).toMatchObject({
      name: 'Writer',
      model: 'claude-sonnet-4-5',
      systemPrompt: 'Be brief.',
      temperature: 0.3,
      maxTokens: 500,
      tools: ['web_search'],
    });
    expect(created.body.id).toMatch(/^agt_/);
    const id = created.body.id as string;

    const read = await api.call('GET', `/v1/agents/${id}`);
    expect(read.status).toBe(200);
    expect(await read.json()).toEqual(created.body);

    const patched = await api.call('PATCH', `/v1/agents/${id}`, { model: 'gpt-4o', systemPrompt: null });
    expect(patched.status).toBe(200);
    expect(await patched.json()).toMatchObject({ id, model: 'gpt-4o', systemPrompt: null, temperature: 0.3 });

    expect((await api.call('DELETE', `/v1/agents/${id}`)).status).toBe(204);
    expect((await api.call('GET', `/v1/agents/${id}`)).status).toBe(404);
    expect((await api.call('DELETE', `/v1/agents/${id}`)).status).toBe(404);
  });

  it('accepts __default__ and an explicit provider:model not in the catalog', async () => {
    expect((await createAgent({ model: '__default__' })).res.status).toBe(201);
    expect((await createAgent({ model: 'openai:llama3.1' })).res.status).toBe(201);
  });

  it('refuses an unknown model with a 400 that names it', async () => {
    const { res, body } = await createAgent({ model: 'llama3.1' });
    expect(res.status).toBe(400);
    expect(body.error.code).toBe('validation_error');
    expect(body.error.message).toContain('llama3.1');

    const unknownPrefix = await createAgent({ model: 'mystery:model-x' });
    expect(unknownPrefix.res.status).toBe(400);

    const { body: agent } = await createAgent({});
    const patch = await api.call('PATCH', `/v1/agents/${agent.id}`, { model: 'not-a-model' });
    expect(patch.status).toBe(400);
    expect(((await patch.json()) as any).error.message).toContain('not-a-model');
  });

  it('refuses a bare model id with a typo that a provider prefix would otherwise accept', async () => {
    for (const model of ['claude-sonet-4-5', 'gpt-9-ultra']) {
      const { res, body } = await createAgent({ model });
      expect(res.status).toBe(400);
      expect(body.error.message).toContain(model);
      expect(body.error.details[0].message).toContain('not in the model catalog');
    }
    expect((await createAgent({ model: 'claude-sonnet-4-5-20250929' })).res.status).toBe(201);
    expect((await createAgent({ model: 'openai:gpt-9-ultra' })).res.status).toBe(201);
    const { body: agent } = await createAgent({});
    expect((await api.call('PATCH', `/v1/agents/${agent.id}`, { model: 'claude-sonet-4-5' })).status).toBe(400);
  });

  it('keeps fallback models of any provider and the prompt-cache flag, and refuses unknown or default fallbacks', async () => {
    const res = await api.call('POST', '/v1/agents', { name: 'f', model: 'claude-haiku-4-5', fallbackModels: ['gpt-4o-mini', 'openai:llama3.1'], cacheSystemPrompt: true });
    expect(res.status).toBe(201);
    const agent = await json(res);
    expect(agent).toMatchObject({ fallbackModels: ['gpt-4o-mini', 'openai:llama3.1'], cacheSystemPrompt: true });
    expect(await json(await api.call('PATCH', `/v1/agents/${agent.id}`, { fallbackModels: [], cacheSystemPrompt: false }))).toMatchObject({ fallbackModels: [], cacheSystemPrompt: false });

    const typo = await api.call('POST', '/v1/agents', { name: 'f', model: 'claude-haiku-4-5', fallbackModels: ['gpt-4o-minni'] });
    expect(typo.status).toBe(400);
    expect((await json(typo)).error.details).toEqual([expect.objectContaining({ path: ['fallbackModels', 0] })]);
    expect((await api.call('PATCH', `/v1/agents/${agent.id}`, { fallbackModels: ['__default__'] })).status).toBe(400);
    expect((await api.call('POST', '/v1/agents', { name: 'f', model: 'gpt-4o', fallbackModels: ['gpt-4o-mini', 'gpt-4o-mini'] })).status).toBe(400);
  });

  it('names the pipelines that use an agent', async () => {
    const { body: agent } = await createAgent({});
    const pipeline = (await (await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId: agent.id }] })).json()) as any;
    const { pipelinesUsingAgent } = await import('../services/agents.ts');
    expect(await pipelinesUsingAgent(api.deps, agent.id)).toEqual([{ id: pipeline.id, name: 'p' }]);
  });
});
