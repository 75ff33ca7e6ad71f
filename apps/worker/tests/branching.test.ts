import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCosts } from '@conveyor/core';
import { testPrefix } from '@conveyor/core/testing';
import { createTestApi, type TestApi } from '@conveyor/api/test-support';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { spawnWorker, stopWorker, waitFor, workerEnv, type WorkerHandle } from './harness.ts';

const json = async (response: Response): Promise<any> => response.json();

describe('branching a run, through the API and a worker process', () => {
  const prefix = testPrefix('branch');
  let emulator: Emulator;
  let api: TestApi;
  let worker: WorkerHandle;
  let agentIds: string[];
  let pipelineId: string;
  let parent: any;

  const runReaches = (runId: string, statuses: string[]) =>
    waitFor(async () => {
      const run = await json(await api.call('GET', `/v1/runs/${runId}`));
      return statuses.includes(run.status) ? run : undefined;
    }, 20_000, `run ${runId} to be ${statuses.join('|')}`);
  const branch = (body: unknown, runId = parent.id) => api.call('POST', `/v1/runs/${runId}/branch`, body);
  const branched = async (body: unknown) => {
    const response = await branch(body);
    expect(response.status, await response.clone().text()).toBe(202);
    const run = await json(response);
    // The answer is the branch as read once it is queued: the worker may have taken it by then.
    expect(run).toMatchObject({ parentRunId: parent.id, branchedFromStep: (body as { fromStep: number }).fromStep });
    expect(['queued', 'running', 'succeeded', 'failed']).toContain(run.status);
    return runReaches(run.id, ['succeeded', 'failed']);
  };
  /** Provider requests received while `work` ran. */
  const requestsDuring = async <T>(work: () => Promise<T>) => {
    const before = emulator.requests.length;
    const result = await work();
    return { result, requests: emulator.requests.slice(before) };
  };

  beforeAll(async () => {
    emulator = await startEmulator();
    api = createTestApi({ REDIS_PREFIX: prefix, ...emulator.providerEnv() });
    worker = await spawnWorker(workerEnv(prefix, emulator));
    agentIds = [];
    for (const [name, model] of [['outline', 'gpt-4o'], ['draft', 'claude-sonnet-4-5'], ['polish', 'gpt-4o-mini']] as const) {
      agentIds.push((await json(await api.call('POST', '/v1/agents', { name, model, systemPrompt: `You ${name}.` }))).id);
    }
    pipelineId = (await json(await api.call('POST', '/v1/pipelines', {
      name: 'outline, draft, polish',
      steps: [{ agentId: agentIds[0] }, { agentId: agentIds[1], prompt: 'Draft from: {{previous}}' }, { agentId: agentIds[2], prompt: 'Polish: {{previous}}' }],
    }))).id;
    const submitted = await json(await api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'tide pools' }));
    parent = await runReaches(submitted.id, ['succeeded']);
  });

  afterAll(async () => {
    await stopWorker(worker);
    await api?.close();
    await emulator?.close();
  });

  it('reuses the steps before fromStep and an edited output for it, with zero provider requests for them', async () => {
    const { result: run, requests } = await requestsDuring(() => branched({ fromStep: 1, output: 'A HAND-WRITTEN DRAFT' }));
    expect(run.status).toBe('succeeded');
    expect(requests).toHaveLength(1);
    expect(requests[0]!.body.model).toBe('gpt-4o-mini');
    expect(JSON.stringify(requests[0]!.body)).toContain('Polish: A HAND-WRITTEN DRAFT');
    expect(run.steps[0]).toMatchObject({ reused: true, status: 'succeeded', output: parent.steps[0].output, cost: '0', usage: { inputTokens: 0, outputTokens: 0 } });
    expect(run.steps[1]).toMatchObject({ reused: true, output: 'A HAND-WRITTEN DRAFT', cost: '0' });
    expect(run.steps[2].reused).toBeUndefined();
    expect(run.cost).toBe(run.steps[2].cost);

    const branches = await json(await api.call('GET', `/v1/runs?parentRunId=${parent.id}`));
    expect(branches.data.map((branch: { id: string }) => branch.id)).toContain(run.id);
  }, 60_000);

  it('runs fromStep again, with the overrides, when no output is given', async () => {
    const { result: run, requests } = await requestsDuring(() =>
      branched({ fromStep: 1, input: 'sea caves', overrides: { '1': { model: 'gpt-4o', systemPrompt: 'Be terse.' } } }),
    );
    expect(run.status).toBe('succeeded');
    expect(run.input).toBe('sea caves');
    expect(requests.map((request) => request.body.model)).toEqual(['gpt-4o', 'gpt-4o-mini']);
    expect(JSON.stringify(requests[0]!.body)).toContain('Be terse.');
    expect(JSON.stringify(requests[0]!.body)).toContain(`Draft from: ${parent.steps[0].output}`);
    expect(run.steps[1]).toMatchObject({ provider: 'openai', model: 'gpt-4o' });
  }, 60_000);

  it('refuses what cannot be: a step past the end, an override of a reused step; a deleted agent only when its step must run', async () => {
    expect((await branch({ fromStep: 3 })).status).toBe(400);
    expect((await branch({ fromStep: 2, overrides: { '0': { model: 'gpt-4o' } } })).status).toBe(400);
    expect((await branch({ fromStep: 1, overrides: { '2': { model: 'gpt-nonexistent-9' } } })).status).toBe(400);
    expect((await branch({ fromStep: 0 }, 'run_missing')).status).toBe(404);

    expect((await api.call('DELETE', `/v1/agents/${agentIds[0]}`)).status).toBe(204);
    const { result: run, requests } = await requestsDuring(() => branched({ fromStep: 1 }));
    expect(run.status).toBe('succeeded');
    expect(requests).toHaveLength(2);

    const orphaned = await branch({ fromStep: 0 });
    expect(orphaned.status).toBe(409);
    expect((await json(orphaned)).error).toMatchObject({ code: 'pipeline_orphaned', details: { missingAgentIds: [agentIds[0]] } });
  }, 60_000);

  it('spends what the parent and its branches cost, each reused step once (in the parent)', async () => {
    const listed = await json(await api.call('GET', `/v1/runs?parentRunId=${parent.id}`));
    const branches = await Promise.all(listed.data.map(async (run: { id: string }) => json(await api.call('GET', `/v1/runs/${run.id}`))));
    expect(branches.length).toBeGreaterThanOrEqual(3);
    const runs = [parent, ...branches];
    const reused = runs.flatMap((run) => run.steps.filter((step: { reused?: boolean }) => step.reused));
    expect(reused.length).toBeGreaterThan(0);
    expect(reused.every((step: { calledAt: string | null }) => step.calledAt === null)).toBe(true);

    const from = new Date(Date.parse(parent.createdAt) - 1000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();
    const spend = await json(await api.call('GET', `/v1/spend?from=${from}&to=${to}&groupBy=pipeline`));
    const mine = spend.groups.find((group: { pipelineId: string }) => group.pipelineId === pipelineId);
    expect(mine).toMatchObject({
      pipelineName: 'outline, draft, polish',
      cost: addCosts(runs.map((run) => run.cost)),
      steps: runs.reduce((total, run) => total + run.steps.filter((step: { reused?: boolean }) => !step.reused).length, 0),
    });
  }, 60_000);
});
