import { RunEventPublisher } from '@conveyor/core';
import { newId } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../src/test-support.ts';
import { ADMIN, signIn, type ConsoleSession } from './console-session.ts';

const hostile = 'Result <script>alert("x")</script> and <img src=x onerror="alert(1)"> end';

/** The `<optgroup label>`s of the model select on a page. */
function optgroupLabels(html: string): string[] {
  return [...html.matchAll(/<optgroup label="([^"]+)"/g)].map((match) => match[1]!);
}

describe('console pages', () => {
  let api: TestApi;
  let session: ConsoleSession;
  beforeAll(async () => {
    api = createTestApi({ ...ADMIN, ANTHROPIC_API_KEY: 'sk-ant-test-key-1234', OPENAI_API_KEY: '' });
    session = await signIn(api);
  });
  afterAll(() => api.close());

  it('groups the model select by configured provider only; a new agent gets the first model, or the default once one is set', async () => {
    await api.deps.db.setting.deleteMany({ where: { key: 'defaultModel' } });
    const html = await (await session.get('/agents/new')).text();
    expect(optgroupLabels(html)).toEqual(['Anthropic']);
    const select = html.slice(html.indexOf('<select name="model"'), html.indexOf('</select>'));
    expect(select).not.toContain('__default__');
    expect(select).toMatch(/^<select name="model"[^>]*><optgroup label="Anthropic"[^>]*><option value="claude-[^"]+" selected=""/);
    expect(html).toContain('skipped for OpenAI models');

    await api.deps.db.setting.create({ data: { key: 'defaultModel', value: 'claude-haiku-4-5' } });
    try {
      const withDefault = await (await session.get('/agents/new')).text();
      const selectWithDefault = withDefault.slice(withDefault.indexOf('<select name="model"'));
      expect(selectWithDefault).toMatch(/^<select name="model"[^>]*><option value="__default__" selected="">Use default \(currently: claude-haiku-4-5\)/);
    } finally {
      await api.deps.db.setting.deleteMany({ where: { key: 'defaultModel' } });
    }
  });

  it('warns on an agent, and a pipeline, that would run on an unset default model', async () => {
    await api.deps.db.setting.deleteMany({ where: { key: 'defaultModel' } });
    const agent = await api.deps.db.agent.create({ data: { id: newId('agt'), name: 'on the default', model: '__default__' } });
    const pipelineId = newId('pip');
    await api.deps.db.pipeline.create({ data: { id: pipelineId, name: `default user ${pipelineId}`, steps: { create: [{ index: 0, agentId: agent.id }] } } });

    const agentPage = await (await session.get(`/agents/${agent.id}`)).text();
    expect(agentPage).toContain('class="unset-default"');
    expect(agentPage).toContain('badge orphaned">default, not set');
    const edit = await (await session.get(`/agents/${agent.id}/edit`)).text();
    expect(edit).toMatch(/<option value="__default__" selected="">Use default \(not set: runs are refused/);
    expect(await (await session.get(`/pipelines/${pipelineId}`)).text()).toContain('class="unset-default"');
    expect(await (await session.get('/agents')).text()).toContain('class="unset-default"');
  });

  it('keeps a step whose agent is not chosen yet, with its prompt, and says what is missing', async () => {
    const agent = await api.deps.db.agent.create({ data: { id: newId('agt'), name: 'chosen one', model: 'claude-sonnet-4-5' } });
    const form = await (await session.get('/pipelines/new')).text();
    expect(form).toMatch(/<option value="" selected="">Choose an agent<\/option>/);
    const draft = { name: 'half built', stepAgent: ['', agent.id], stepPrompt: ['my typed prompt', 'second'] };

    const added = await (await session.post('/pipelines', { ...draft, op: 'add' })).text();
    expect(added.match(/name="stepAgent"/g)).toHaveLength(3);
    expect(added).toContain('my typed prompt</textarea>');

    const refused = await session.post('/pipelines', { ...draft, op: 'save' });
    expect(refused.status).toBe(400);
    const html = await refused.text();
    expect(html).toContain('Step 1: choose an agent.');
    expect(html).toContain('my typed prompt</textarea>');
    expect(html).toContain('second</textarea>');
    expect(await api.deps.db.pipeline.count({ where: { name: 'half built' } })).toBe(0);
  });

  it('shows validation errors on the form instead of failing', async () => {
    const response = await session.post('/agents', { name: '', model: 'no-such-model-xyz' });
    expect(response.status).toBe(400);
    const html = await response.text();
    expect(html).toContain('class="notice error"');
    expect(html).toMatch(/Name: /);
  });

  it('edits fallback models, prompt caching and budgets, and shows a run\'s budget, failed attempts and budget stop', async () => {
    const created = await session.post('/agents', { name: 'with fallbacks', model: 'claude-haiku-4-5', fallbackModels: 'gpt-4o-mini, claude-sonnet-5', cacheSystemPrompt: 'on' });
    expect(created.status).toBe(303);
    const agent = await api.deps.db.agent.findFirstOrThrow({ where: { name: 'with fallbacks' } });
    expect(agent).toMatchObject({ fallbackModels: ['gpt-4o-mini', 'claude-sonnet-5'], cacheSystemPrompt: true });
    const agentPage = await (await session.get(`/agents/${agent.id}`)).text();
    expect(agentPage).toContain('gpt-4o-mini, claude-sonnet-5');
    expect(agentPage).toContain('system prompt and tools');

    expect((await session.post('/pipelines', { name: 'budgeted', stepAgent: agent.id, stepPrompt: '', maxCostUsd: '1.25', op: 'save' })).status).toBe(303);
    const pipeline = await api.deps.db.pipeline.findFirstOrThrow({ where: { name: 'budgeted' } });
    expect(pipeline.maxCostUsd?.toFixed()).toBe('1.25');
    const submitted = await session.post('/runs', { pipelineId: pipeline.id, input: 'go', maxCostUsd: '0.5' });
    expect(submitted.status).toBe(303);
    const refused = await session.post('/runs', { pipelineId: pipeline.id, input: 'go', maxCostUsd: 'lots' });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('The budget must be an amount in US dollars');

    const runId = submitted.headers.get('location')!.split('/').at(-1)!;
    await api.deps.db.run.update({
      where: { id: runId },
      data: {
        status: 'failed',
        error: { code: 'budget_exceeded', message: 'the next model call could cost up to $0.60', step: 0, budget: '0.50', spentSoFar: '0.00', worstCase: '0.60', remaining: '0.50' },
      },
    });
    await api.deps.db.runStep.update({
      where: { runId_index: { runId, index: 0 } },
      data: { status: 'failed', failedAttempts: [{ provider: 'anthropic', model: 'claude-haiku-4-5', kind: 'overloaded', message: 'Overloaded', at: new Date().toISOString() }] },
    });
    const runPage = await (await session.get(`/runs/${runId}`)).text();
    expect(runPage).toMatch(/<dd id="run-budget">\$0\.50<\/dd>/);
    expect(runPage).toContain('budget_exceeded: the next model call could cost up to $0.60');
    expect(runPage).toMatch(/anthropic · claude-haiku-4-5<\/span> failed \(overloaded\): Overloaded/);

    // A step that read a million tokens from the cache on claude-haiku-4-5 ($0.10 instead of $1 a million).
    await api.deps.db.runStep.update({
      where: { runId_index: { runId, index: 0 } },
      data: { status: 'succeeded', provider: 'anthropic', model: 'claude-haiku-4-5', inputTokens: 10, outputTokens: 5, cacheReadTokens: 1_000_000, calledAt: new Date(), cost: '0.100035' },
    });
    const cachedPage = await (await session.get(`/runs/${runId}`)).text();
    expect(cachedPage).toContain('<dd id="run-cache-savings">$0.90</dd>');
    expect(cachedPage).toContain('cache 1,000,000 read · 0 written · saved $0.90');
  });

  it('builds a pipeline step by step without JavaScript: add, reorder, remove', async () => {
    const first = await api.deps.db.agent.create({ data: { id: newId('agt'), name: 'builder one', model: 'claude-sonnet-4-5' } });
    const second = await api.deps.db.agent.create({ data: { id: newId('agt'), name: 'builder two', model: '__default__' } });
    const added = await (await session.post('/pipelines', { name: 'built', stepAgent: [first.id], stepPrompt: [''], op: 'add' })).text();
    expect(added.match(/name="stepAgent"/g)).toHaveLength(2);
    const draft = { name: 'built', stepAgent: [first.id, second.id], stepPrompt: ['one {{input}}', 'two'] };
    const moved = await (await session.post('/pipelines', { ...draft, op: 'up:1' })).text();
    expect(moved.indexOf('two</textarea>')).toBeLessThan(moved.indexOf('one {{input}}</textarea>'));
    const removed = await (await session.post('/pipelines', { ...draft, op: 'remove:0' })).text();
    expect(removed).not.toContain('one {{input}}</textarea>');
    const saved = await session.post('/pipelines', { ...draft, op: 'save' });
    expect(saved.status).toBe(303);
    const pipelineId = saved.headers.get('location')!.match(/pip_[^?]+/)![0];
    const steps = await api.deps.db.pipelineStep.findMany({ where: { pipelineId }, orderBy: { index: 'asc' } });
    expect(steps.map((step) => [step.agentId, step.prompt])).toEqual([
      [first.id, 'one {{input}}'],
      [second.id, 'two'],
    ]);
  });

  it('names the pipelines a delete will orphan, then marks them and refuses to run them with the API message', async () => {
    const agent = await api.deps.db.agent.create({ data: { id: newId('agt'), name: 'doomed', model: 'claude-sonnet-4-5' } });
    const pipelineId = newId('pip');
    await api.deps.db.pipeline.create({
      data: { id: pipelineId, name: `uses doomed ${pipelineId}`, steps: { create: [{ index: 0, agentId: agent.id }] } },
    });
    const confirm = await (await session.get(`/agents/${agent.id}/delete`)).text();
    expect(confirm).toContain(`uses doomed ${pipelineId}`);
    expect(confirm).toContain('This pipeline will become orphaned');
    expect((await session.post(`/agents/${agent.id}/delete`, {})).status).toBe(303);

    const page = await (await session.get(`/pipelines/${pipelineId}`)).text();
    expect(page).toContain('badge orphaned');
    expect(page).toContain('badge orphaned">deleted agent</span><span class="mono">' + agent.id);
    expect(page).toMatch(/<button type="submit" id="run-button" disabled="">/);

    const refused = await session.post('/runs', { pipelineId, input: 'hello' });
    expect(refused.status).toBe(409);
    const api409 = await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'hello' });
    const { error } = (await api409.json()) as { error: { message: string } };
    const refusedHtml = await refused.text();
    expect(refusedHtml).toContain(error.message.replaceAll('"', '&quot;'));
    expect(refusedHtml).toMatch(/<textarea id="input"[^>]*readonly=""[^>]*>hello<\/textarea>/);
    expect(await api.deps.db.run.count({ where: { pipelineId } })).toBe(0);
  });

  it('renders model output containing <script> and <img onerror> as text on the run and artifact pages', async () => {
    const pipelineId = newId('pip');
    const runId = newId('run');
    const artifactId = newId('art');
    const now = new Date();
    await api.deps.db.pipeline.create({ data: { id: pipelineId, name: 'xss pipeline', steps: { create: [{ index: 0, agentId: 'agt_gone' }] } } });
    await api.deps.db.run.create({
      data: {
        id: runId,
        pipelineId,
        status: 'succeeded',
        input: 'go',
        output: hostile,
        startedAt: now,
        finishedAt: now,
        steps: { create: [{ index: 0, agentId: 'agt_gone', provider: 'anthropic', model: 'claude-sonnet-4-5', status: 'succeeded', output: hostile }] },
      },
    });
    await api.deps.db.artifact.create({
      data: {
        id: artifactId,
        runId,
        pipelineId,
        pipelineName: 'xss pipeline',
        artifactData: { output: hostile, input: 'go', steps: [{ index: 0, model: 'claude-sonnet-4-5', output: hostile, usage: { inputTokens: 3, outputTokens: 4 }, cost: '0.000123' }] },
        cost: '0.000123',
        inputTokens: 3,
        outputTokens: 4,
        models: ['claude-sonnet-4-5'],
        runCreatedAt: now,
        durationMs: 1200,
      },
    });
    for (const path of [`/runs/${runId}`, `/artifacts/${artifactId}`]) {
      const html = await (await session.get(path)).text();
      expect(html, path).not.toContain('<script>alert');
      expect(html, path).not.toMatch(/<img/i);
      expect(html, path).toMatch(/&lt;script&gt;alert\((&quot;|")x(&quot;|")\)&lt;\/script&gt;/);
      expect(html, path).toContain('&lt;img src=x onerror=&quot;alert(1)&quot;&gt;');
    }
    const artifact = await (await session.get(`/artifacts/${artifactId}`)).text();
    expect(artifact).toContain('$0.000123');
  });

  it('streams a run\'s events to the signed-in console: history through the terminal event, then closes', async () => {
    const pipelineId = newId('pip');
    const runId = newId('run');
    await api.deps.db.pipeline.create({ data: { id: pipelineId, name: 'events pipeline', steps: { create: [{ index: 0, agentId: 'agt_any' }] } } });
    await api.deps.db.run.create({ data: { id: runId, pipelineId, status: 'running', input: 'go' } });
    const events = new RunEventPublisher(api.deps.redis, api.deps.config.REDIS_PREFIX, api.deps.logger).forRun(runId);
    void events.emit('run.started', { runId, startedAt: new Date().toISOString() });
    void events.emit('step.started', { index: 0, agentId: 'agt_any', provider: 'anthropic', model: 'claude-x' });
    events.delta(0, 'Hello');
    void events.emit('step.completed', { index: 0, output: 'Hello', usage: { inputTokens: 1, outputTokens: 2 }, cost: '0.01' });
    await events.emit('run.canceled', { runId });

    const response = await session.get(`/runs/${runId}/events`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const body = await response.text();
    const names = [...body.matchAll(/^event: (.+)$/gm)].map((match) => match[1]);
    expect(names).toEqual(['run.started', 'step.started', 'step.delta', 'step.completed', 'run.canceled']);
    expect(body).toContain('data: {"index":0,"text":"Hello"}');
    expect((await session.get('/runs/run_missing/events')).status).toBe(404);
  });

  it('cancels a queued run from its page, and offers no cancel button once it ended', async () => {
    const pipelineId = newId('pip');
    const runId = newId('run');
    await api.deps.db.pipeline.create({ data: { id: pipelineId, name: 'cancel pipeline', steps: { create: [{ index: 0, agentId: 'agt_any' }] } } });
    await api.deps.db.run.create({ data: { id: runId, pipelineId, status: 'queued', input: 'go', steps: { create: [{ index: 0, agentId: 'agt_any' }] } } });
    expect(await (await session.get(`/runs/${runId}`)).text()).toContain('id="cancel-form"');
    const response = await session.post(`/runs/${runId}/cancel`, {});
    expect(response.status).toBe(303);
    expect((await api.deps.db.run.findUniqueOrThrow({ where: { id: runId } })).status).toBe('canceled');
    const page = await (await session.get(`/runs/${runId}`)).text();
    expect(page).not.toContain('id="cancel-form"');
    expect(page).toContain('data-status="canceled"');
  });

  it('answers unknown ids with a 404 page, not an error', async () => {
    for (const path of ['/agents/agt_nope', '/pipelines/pip_nope', '/runs/run_nope', '/artifacts/art_nope']) {
      const response = await session.get(path);
      expect(response.status, path).toBe(404);
      expect(await response.text(), path).toContain('not found');
    }
  });

  it('renders every list page, empty or not', async () => {
    for (const path of ['/agents', '/pipelines', '/runs', '/runs?status=failed', '/runs?cursor=bogus', '/artifacts', '/settings']) {
      const response = await session.get(path);
      expect(response.status, path).toBe(200);
    }
  });

  it('shows only a key hint for providers, and no optgroup for an unconfigured one in the default model select', async () => {
    const html = await (await session.get('/settings')).text();
    expect(html).not.toContain('sk-ant-test-key-1234');
    expect(html).toContain('…1234');
    expect(optgroupLabels(html)).toEqual(['Anthropic']);
  });
});
