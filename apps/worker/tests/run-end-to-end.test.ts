import { Decimal } from 'decimal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testPrefix } from '@conveyor/core/testing';
import { createTestApi, type TestApi } from '@conveyor/api/test-support';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { readSse, spawnWorker, stopWorker, waitForRunStatus, workerEnv, type WorkerHandle } from './harness.ts';

const json = async (response: Response): Promise<any> => response.json();

describe('a two-step pipeline mixing Anthropic and OpenAI, through the API and a worker process', () => {
  const prefix = testPrefix('e2e');
  let emulator: Emulator;
  let api: TestApi;
  let replica: TestApi;
  let worker: WorkerHandle;
  let runId: string;

  beforeAll(async () => {
    emulator = await startEmulator({ tokensPerSecond: 400 });
    const providerEnv = {
      REDIS_PREFIX: prefix,
      ...emulator.providerEnv(),
    };
    api = createTestApi(providerEnv);
    replica = createTestApi(providerEnv);
    worker = await spawnWorker(workerEnv(prefix, emulator));

    const writer = await json(await api.call('POST', '/v1/agents', { name: 'writer', model: 'claude-sonnet-4-6', systemPrompt: 'Write.' }));
    const editor = await json(await api.call('POST', '/v1/agents', { name: 'editor', model: 'gpt-4o' }));
    const pipeline = await json(await api.call('POST', '/v1/pipelines', {
        name: 'write then edit',
        steps: [{ agentId: writer.id }, { agentId: editor.id, prompt: 'Edit this draft about {{input}}:\n{{previous}}' }],
      }));
    const submitted = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'lighthouses of Brittany' });
    expect(submitted.status, await submitted.clone().text()).toBe(202);
    runId = (await json(submitted)).id;
  });

  afterAll(async () => {
    await stopWorker(worker);
    await api?.close();
    await replica?.close();
    await emulator?.close();
  });

  it('streams every event in order with increasing ids, feeds step 1 to step 2, and writes an artifact whose cost is the sum of the steps', async () => {
    const response = await api.call('GET', `/v1/runs/${runId}/events`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const events = await readSse(response);

    const types = events.map((event) => event.event);
    expect(types[0]).toBe('run.started');
    expect(types.at(-1)).toBe('run.succeeded');
    const milestones = types.filter((type) => type !== 'step.delta');
    expect(milestones).toEqual(['run.started', 'step.started', 'step.completed', 'step.started', 'step.completed', 'run.succeeded']);
    expect(types.filter((type) => type === 'step.delta').length).toBeGreaterThan(0);

    const ids = events.map((event) => event.id!);
    for (let i = 1; i < ids.length; i++) expect(compareIds(ids[i]!, ids[i - 1]!)).toBeGreaterThan(0);

    const deltas = (index: number) =>
      events
        .filter((event) => event.event === 'step.delta')
        .map((event) => JSON.parse(event.data))
        .filter((data) => data.index === index)
        .map((data) => data.text)
        .join('');
    const completed = events.filter((event) => event.event === 'step.completed').map((event) => JSON.parse(event.data));
    expect(deltas(0)).toBe(completed[0].output);
    expect(deltas(1)).toBe(completed[1].output);

    const [first, second] = emulator.requests;
    expect(first!.provider).toBe('anthropic');
    expect(second!.provider).toBe('openai');
    expect(JSON.stringify(second!.body.messages)).toContain(JSON.stringify(completed[0].output).slice(1, -1));
    expect(JSON.stringify(second!.body.messages)).toContain('Edit this draft about lighthouses of Brittany');

    const run = await json(await api.call('GET', `/v1/runs/${runId}`));
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((step: { provider: string }) => step.provider)).toEqual(['anthropic', 'openai']);
    const stepSum = run.steps.reduce((sum: Decimal, step: { cost: string }) => sum.plus(step.cost), new Decimal(0));
    expect(new Decimal(run.cost).equals(stepSum)).toBe(true);

    const artifact = await json(await api.call('GET', `/v1/artifacts/${run.artifactId}`));
    expect(artifact.runId).toBe(runId);
    expect(new Decimal(artifact.cost).equals(stepSum)).toBe(true);
    expect(artifact.data.output).toBe(completed[1].output);
    expect(artifact.data.steps.map((step: { output: string }) => step.output)).toEqual([completed[0].output, completed[1].output]);
    expect(artifact.models).toEqual(['claude-sonnet-4-6', 'gpt-4o']);
    const terminal = JSON.parse(events.at(-1)!.data);
    expect(terminal.artifactId).toBe(run.artifactId);
    expect(terminal.cost).toBe(run.cost);
  });

  it('gives a late subscriber the whole history, and a reconnecting one exactly the events after Last-Event-ID, from any API replica', async () => {
    await waitForRunStatus(api.deps.db, runId, ['succeeded']);
    const late = await readSse(await api.call('GET', `/v1/runs/${runId}/events`));
    const fromReplica = await readSse(await replica.call('GET', `/v1/runs/${runId}/events`));
    expect(fromReplica).toEqual(late);

    const resumeAfter = late[2]!.id!;
    const resumed = await readSse(await replica.call('GET', `/v1/runs/${runId}/events`, undefined, { 'last-event-id': resumeAfter }));
    expect(resumed).toEqual(late.slice(3));
  });

  it('answers 404 for an unknown run and 400 for a malformed Last-Event-ID', async () => {
    expect((await api.call('GET', '/v1/runs/run_missing/events')).status).toBe(404);
    expect((await api.call('GET', `/v1/runs/${runId}/events`, undefined, { 'last-event-id': 'nope' })).status).toBe(400);
  });
});

function compareIds(a: string, b: string): number {
  const [aMs, aSeq] = a.split('-').map(BigInt) as [bigint, bigint];
  const [bMs, bSeq] = b.split('-').map(BigInt) as [bigint, bigint];
  if (aMs !== bMs) return aMs > bMs ? 1 : -1;
  return aSeq === bSeq ? 0 : aSeq > bSeq ? 1 : -1;
}
