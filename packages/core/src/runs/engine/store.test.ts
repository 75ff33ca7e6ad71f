import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, sqlPool } from '../../db/client.ts';
import { newId } from '../../ids.ts';
import { RunStore, type StepRecord } from './store.ts';

describe('RunStore (batched execution statements)', () => {
  const db = createDatabase(process.env.DATABASE_URL!);
  const store = new RunStore(sqlPool(db));

  afterAll(() => db.$disconnect());

  async function pipelineWithRuns(count: number, options: { steps?: number; pipelineWebhook?: string } = {}) {
    const agent = await db.agent.create({ data: { id: newId('agt'), name: 'writer', model: 'anthropic:claude-haiku-4-5', temperature: '0.250', tools: ['web_search'] } });
    const pipeline = await db.pipeline.create({
      data: {
        id: newId('pip'),
        name: 'store test',
        webhookUrl: options.pipelineWebhook ?? null,
        steps: { create: Array.from({ length: options.steps ?? 1 }, (_, index) => ({ index, agentId: agent.id, prompt: `step ${index}: {{input}}` })) },
      },
    });
    const runIds = Array.from({ length: count }, () => newId('run'));
    for (const id of runIds) {
      await db.run.create({
        data: {
          id,
          pipelineId: pipeline.id,
          input: 'hello',
          steps: { create: Array.from({ length: options.steps ?? 1 }, (_, index) => ({ index, agentId: agent.id })) },
        },
      });
    }
    return { agent, pipeline, runIds };
  }

  const record = (index: number, output: string, at = new Date()): StepRecord => ({
    index,
    provider: 'anthropic',
    model: 'claude-haiku-4-5',
    output,
    inputTokens: 10,
    outputTokens: 5,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    cost: '0.000125',
    warnings: ['a warning'],
    calledAt: at,
    failedAttempts: [],
    firstTokenMs: 42,
    finishedAt: at,
  });

  it('loads a run with its steps, prompts, agents and effective webhook URL', async () => {
    const { agent, runIds } = await pipelineWithRuns(1, { steps: 2, pipelineWebhook: 'http://127.0.0.1:9/hook' });
    const run = await store.load(runIds[0]!);
    expect(run).toMatchObject({ id: runIds[0], status: 'queued', input: 'hello', webhookUrl: 'http://127.0.0.1:9/hook', attempts: 0 });
    expect(run!.steps.map((step) => [step.index, step.prompt, step.status])).toEqual([
      [0, 'step 0: {{input}}', 'pending'],
      [1, 'step 1: {{input}}', 'pending'],
    ]);
    expect(run!.steps[0]!.agent).toEqual({ id: agent.id, model: agent.model, systemPrompt: null, temperature: 0.25, maxTokens: null, tools: ['web_search'], outputSchema: null, maxTurns: 10, fallbackModels: [], cacheSystemPrompt: false });
    await db.agent.delete({ where: { id: agent.id } });
    expect((await store.load(runIds[0]!))!.steps[0]!.agent).toBeNull();
    expect(await store.load('run_missing')).toBeUndefined();
  });

  it("reads the statuses asked for in one turn in one statement, and knows no status of a run that does not exist", async () => {
    const { runIds } = await pipelineWithRuns(3);
    await db.run.update({ where: { id: runIds[1]! }, data: { status: 'canceled' } });
    const pool = sqlPool(db);
    const counting = Object.create(pool) as typeof pool;
    let statements = 0;
    counting.query = ((...args: Parameters<typeof pool.query>) => {
      statements += 1;
      return (pool.query as (...a: unknown[]) => unknown).apply(pool, args);
    }) as typeof pool.query;
    const reader = new RunStore(counting);
    const statuses = await Promise.all([...runIds, newId('run')].map((id) => reader.status(id)));
    expect(statuses).toEqual(['queued', 'canceled', 'queued', undefined]);
    expect(statements).toBe(1);
  });

  it('runs many runs through start, record and complete concurrently: one artifact each, step started with the next', async () => {
    const { runIds } = await pipelineWithRuns(12, { steps: 2 });
    const started = await Promise.all(runIds.map((id) => store.start(id, { index: 0, provider: 'anthropic', model: 'claude-haiku-4-5' }, new Date())));
    expect(started.every((result) => result.started === 'fresh')).toBe(true);
    expect(await store.start(runIds[0]!, undefined, new Date())).toMatchObject({ started: 'resumed' });

    const states = await Promise.all(runIds.map((id) => store.recordStep(id, record(0, `first of ${id}`), { index: 1, provider: 'openai', model: 'gpt-4o-mini' })));
    expect(states).toEqual(runIds.map(() => ({ status: 'running', cancelRequested: false })));
    const middle = await db.runStep.findUniqueOrThrow({ where: { runId_index: { runId: runIds[3]!, index: 1 } } });
    expect(middle).toMatchObject({ status: 'running', provider: 'openai', model: 'gpt-4o-mini' });

    const completion = (id: string) => ({
      output: `second of ${id}`,
      inputTokens: 20,
      outputTokens: 10,
      cost: '0.00025',
      finishedAt: new Date(),
      pipelineName: 'store test',
      artifactData: { output: `second of ${id}` },
      models: ['claude-haiku-4-5', 'gpt-4o-mini'],
      durationMs: 42,
    });
    const artifactIds = await Promise.all(runIds.map((id) => store.complete(id, record(1, `second of ${id}`), completion(id))));
    expect(new Set(artifactIds).size).toBe(runIds.length);
    expect(await store.complete(runIds[0]!, record(1, 'again'), completion(runIds[0]!))).toBeUndefined();

    const run = await db.run.findUniqueOrThrow({ where: { id: runIds[5]! }, include: { steps: { orderBy: { index: 'asc' } }, artifact: true } });
    expect(run).toMatchObject({ status: 'succeeded', output: `second of ${runIds[5]}`, inputTokens: 20, attempts: 1 });
    expect(run.cost!.toFixed()).toBe('0.00025');
    expect(run.steps.map((step) => [step.status, step.output, step.warnings, step.firstTokenMs])).toEqual([
      ['succeeded', `first of ${runIds[5]}`, ['a warning'], 42],
      ['succeeded', `second of ${runIds[5]}`, ['a warning'], 42],
    ]);
    expect((await store.load(runIds[5]!))!.steps.map((step) => step.firstTokenMs)).toEqual([42, 42]);
    expect(run.artifact).toMatchObject({ id: artifactIds[5], artifactData: { output: `second of ${runIds[5]}` }, durationMs: 42, models: ['claude-haiku-4-5', 'gpt-4o-mini'] });
  });

  it('does not start the next step of a run canceled meanwhile, and reports the cancel', async () => {
    const { runIds } = await pipelineWithRuns(1, { steps: 2 });
    const [id] = runIds as [string];
    await store.start(id, { index: 0, provider: 'anthropic', model: 'claude-haiku-4-5' }, new Date());
    await db.run.update({ where: { id }, data: { cancelRequested: true } });
    expect(await store.recordStep(id, record(0, 'done'), { index: 1, provider: 'anthropic', model: 'claude-haiku-4-5' })).toEqual({ status: 'running', cancelRequested: true });
    expect((await db.runStep.findUniqueOrThrow({ where: { runId_index: { runId: id, index: 1 } } })).status).toBe('pending');
  });

  it('a statement Postgres refuses for one run fails that run alone, not the others batched with it', async () => {
    const { runIds } = await pipelineWithRuns(4);
    await Promise.all(runIds.map((id) => store.start(id, { index: 0, provider: 'anthropic', model: 'claude-haiku-4-5' }, new Date())));
    const results = await Promise.allSettled(
      runIds.map((id, i) => store.recordStep(id, record(0, i === 2 ? 'bad \u0000 byte' : 'fine'), undefined)),
    );
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const statuses = await db.runStep.findMany({ where: { runId: { in: runIds } }, select: { runId: true, status: true } });
    expect(Object.fromEntries(statuses.map((step) => [step.runId, step.status]))).toEqual({
      [runIds[0]!]: 'succeeded',
      [runIds[1]!]: 'succeeded',
      [runIds[2]!]: 'running',
      [runIds[3]!]: 'succeeded',
    });
  });
});
