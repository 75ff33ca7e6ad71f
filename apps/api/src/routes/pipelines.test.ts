import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const json = async (res: Response) => (await res.json()) as any;
const newAgent = async (model = 'claude-sonnet-4-5') => json(await api.call('POST', '/v1/agents', { name: 'a', model }));

describe('pipelines', () => {
  it('creates a pipeline with ordered steps and reads it back', async () => {
    const [first, second] = [await newAgent(), await newAgent('gpt-4o')];
    const res = await api.call('POST', '/v1/pipelines', {
      name: 'Draft then edit',
      steps: [{ agentId: first.id, prompt: 'Draft: {{input}}' }, { agentId: second.id }],
      webhookUrl: 'http://127.0.0.1:9/hook',
      maxDurationSeconds: 120,
    });
    expect(res.status).toBe(201);
    const pipeline = await json(res);
    expect(pipeline).toMatchObject({
      name: 'Draft then edit',
      steps: [
        { index: 0, agentId: first.id, prompt: 'Draft: {{input}}' },
        { index: 1, agentId: second.id, prompt: null },
      ],
      webhookUrl: 'http://127.0.0.1:9/hook',
      maxDurationSeconds: 120,
      orphaned: false,
      missingAgentIds: [],
    });
    expect(await json(await api.call('GET', `/v1/pipelines/${pipeline.id}`))).toEqual(pipeline);
  });

  it('refuses steps that name unknown agents', async () => {
    const res = await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId: 'agt_missing' }] });
    expect(res.status).toBe(400);
    expect((await json(res)).error).toMatchObject({ code: 'validation_error', details: { missingAgentIds: ['agt_missing'] } });
  });

  it('reports a deleted agent live as orphaned with its id', async () => {
    const [kept, doomed] = [await newAgent(), await newAgent()];
    const pipeline = await json(
      await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId: kept.id }, { agentId: doomed.id }, { agentId: doomed.id }] }),
    );
    await api.call('DELETE', `/v1/agents/${doomed.id}`);
    const read = await json(await api.call('GET', `/v1/pipelines/${pipeline.id}`));
    expect(read).toMatchObject({ orphaned: true, missingAgentIds: [doomed.id] });
    expect(read.steps.map((s: any) => s.agentId)).toEqual([kept.id, doomed.id, doomed.id]);

    const listed = await json(await api.call('GET', '/v1/pipelines?limit=100'));
    expect(listed.data.find((p: any) => p.id === pipeline.id)).toMatchObject({ orphaned: true, missingAgentIds: [doomed.id] });
  });

  it('patches fields and replaces steps, and clears optional fields with null', async () => {
    const [a, b] = [await newAgent(), await newAgent()];
    const pipeline = await json(
      await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId: a.id }], webhookUrl: 'http://127.0.0.1:9/x' }),
    );
    const res = await api.call('PATCH', `/v1/pipelines/${pipeline.id}`, {
      name: 'renamed',
      steps: [{ agentId: b.id }, { agentId: a.id, prompt: '{{previous}}!' }],
      webhookUrl: null,
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      name: 'renamed',
      webhookUrl: null,
      steps: [
        { index: 0, agentId: b.id },
        { index: 1, agentId: a.id, prompt: '{{previous}}!' },
      ],
    });
    expect((await api.call('PATCH', '/v1/pipelines/pip_missing', { name: 'x' })).status).toBe(404);
  });

  it('deletes a pipeline without runs', async () => {
    const agent = await newAgent();
    const unused = await json(await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId: agent.id }] }));
    expect((await api.call('DELETE', `/v1/pipelines/${unused.id}`)).status).toBe(204);
    expect((await api.call('GET', `/v1/pipelines/${unused.id}`)).status).toBe(404);
    expect((await api.call('DELETE', `/v1/pipelines/${unused.id}`)).status).toBe(404);
  });

  it('archives a pipeline with runs: 204, gone from lists and reads, its runs still readable', async () => {
    const agent = await newAgent();
    const used = await json(await api.call('POST', '/v1/pipelines', { name: 'archived', steps: [{ agentId: agent.id }] }));
    const run = await json(await api.call('POST', `/v1/pipelines/${used.id}/runs`, { input: 'x' }));
    expect(run.status).toBe('queued');

    expect((await api.call('DELETE', `/v1/pipelines/${used.id}`)).status).toBe(204);

    expect((await api.call('GET', `/v1/pipelines/${used.id}`)).status).toBe(404);
    expect((await api.call('PATCH', `/v1/pipelines/${used.id}`, { name: 'back' })).status).toBe(404);
    expect((await api.call('DELETE', `/v1/pipelines/${used.id}`)).status).toBe(404);
    const listed = await json(await api.call('GET', '/v1/pipelines?limit=100'));
    expect(listed.data.map((p: { id: string }) => p.id)).not.toContain(used.id);

    const readBack = await api.call('GET', `/v1/runs/${run.id}`);
    expect(readBack.status).toBe(200);
    expect((await json(readBack)).pipelineId).toBe(used.id);
    const runs = await json(await api.call('GET', `/v1/runs?pipelineId=${used.id}`));
    expect(runs.data.map((r: { id: string }) => r.id)).toEqual([run.id]);
  });

  it('refuses a webhook URL to a private address unless private targets are allowed', async () => {
    const strict = createTestApi({ WEBHOOK_ALLOW_PRIVATE: 'false' });
    try {
      const agent = await json(await strict.call('POST', '/v1/agents', { name: 'a', model: 'gpt-4o' }));
      const res = await strict.call('POST', '/v1/pipelines', {
        name: 'p',
        steps: [{ agentId: agent.id }],
        webhookUrl: 'http://169.254.169.254/latest',
      });
      expect(res.status).toBe(400);
      expect((await json(res)).error.code).toBe('validation_error');
    } finally {
      await strict.close();
    }
  });
});
