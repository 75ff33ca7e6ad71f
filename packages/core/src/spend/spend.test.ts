import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCosts } from '../catalog/cost.ts';
import { createDatabase, sqlPool } from '../db/client.ts';
import { newId } from '../ids.ts';
import { RunStore, type StepRecord, type TurnRecord } from '../runs/engine/store.ts';
import { InvalidSpendQueryError, runsStoppedByBudget, spendReport } from './spend.ts';

const db = createDatabase(process.env.DATABASE_URL!);
afterAll(() => db.$disconnect());

/**
 * This file's own stretch of time, decades before any other test's data, so its
 * sums see only the steps it wrote.
 */
const day0 = new Date(Date.UTC(1990, 0, 1) + Math.floor(Math.random() * 9000) * 86_400_000);
const at = (dayOffset: number, ms = 0) => new Date(day0.getTime() + dayOffset * 86_400_000 + ms);
const dayText = (dayOffset: number) => at(dayOffset).toISOString().slice(0, 10);

interface StepSeed {
  provider: string | null;
  model: string | null;
  cost: string | null;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  /** When its model call was made; null: the step made none (it counts nowhere). */
  calledAt: Date | null;
  /** When the step finished: the model call's time is what counts, not this. */
  finishedAt?: Date | null;
  status?: 'succeeded' | 'failed';
  reused?: boolean;
}

const pipelines: Record<string, { id: string; name: string }> = {};
const runCosts: string[] = [];

/** A run with its steps as the run engine records them: a step that made a model call carries its call time and pipeline. */
async function seedRun(pipeline: string, steps: StepSeed[]) {
  const agent = await db.agent.create({ data: { id: newId('agt'), name: 'spender', model: 'anthropic:claude-haiku-4-5' } });
  const runCost = addCosts(steps.map((s) => s.cost));
  const pipelineId = pipelines[pipeline]!.id;
  await db.run.create({
    data: {
      id: newId('run'),
      pipelineId,
      input: 'spend',
      status: 'succeeded',
      cost: runCost,
      steps: {
        create: steps.map((s, index) => ({
          index,
          agentId: agent.id,
          status: s.status ?? ('succeeded' as const),
          provider: s.provider,
          model: s.model,
          cost: s.cost,
          inputTokens: s.inputTokens,
          outputTokens: s.outputTokens,
          cacheReadTokens: s.cacheReadTokens ?? 0,
          cacheWriteTokens: s.cacheWriteTokens ?? 0,
          calledAt: s.calledAt,
          pipelineId: s.calledAt ? pipelineId : null,
          finishedAt: s.finishedAt === undefined ? s.calledAt : s.finishedAt,
          reused: s.reused ?? false,
        })),
      },
    },
  });
  return runCost;
}

beforeAll(async () => {
  for (const name of ['alpha', 'beta']) {
    const pipeline = await db.pipeline.create({ data: { id: newId('pip'), name: `spend ${name}` } });
    pipelines[name] = pipeline;
  }
  // Inside [day 0, day 3): costs with 12 decimals that floating point would not add exactly.
  runCosts.push(
    await seedRun('alpha', [
      { provider: 'anthropic', model: 'claude-haiku-4-5', cost: '0.100000000001', inputTokens: 10, outputTokens: 20, cacheReadTokens: 5, calledAt: at(0) },
      { provider: 'openai', model: 'gpt-4o', cost: '0.200000000002', inputTokens: 30, outputTokens: 40, calledAt: at(0, 86_400_000 - 1) },
    ]),
    // Called half a second before midnight, finished after it: it counts on the day of the call.
    await seedRun('alpha', [{ provider: 'anthropic', model: 'claude-haiku-4-5', cost: '1.7', inputTokens: 1, outputTokens: 2, cacheWriteTokens: 7, calledAt: at(1, 86_400_000 - 500), finishedAt: at(2, 1000) }]),
    await seedRun('beta', [
      { provider: 'openai', model: 'gpt-4o', cost: '0.000000000003', inputTokens: 100, outputTokens: 200, calledAt: at(2, 5000) },
      // A model without a known price: tokens counted, no cost.
      { provider: 'openai', model: 'llama3.1', cost: null, inputTokens: 1000, outputTokens: 2000, calledAt: at(2, 6000) },
    ]),
    // A branch of the run above: its first step is reused (cost 0, no model call), only its second one is spent again.
    await seedRun('beta', [
      { provider: 'openai', model: 'gpt-4o', cost: '0', inputTokens: 0, outputTokens: 0, calledAt: null, finishedAt: at(2, 7000), reused: true },
      { provider: 'openai', model: 'gpt-4o', cost: '0.4', inputTokens: 50, outputTokens: 60, calledAt: at(2, 8000) },
    ]),
    // A step that failed before any model answered: it finished in the range but made no call.
    await seedRun('alpha', [{ provider: 'anthropic', model: 'claude-haiku-4-5', cost: null, inputTokens: 0, outputTokens: 0, calledAt: null, finishedAt: at(1), status: 'failed' }]),
  );
  // Outside the range: called exactly at `to` (exclusive), called just before `from` (though it finished
  // after it), and a step that has not finished.
  await seedRun('beta', [{ provider: 'openai', model: 'gpt-4o', cost: '50', inputTokens: 5, outputTokens: 5, calledAt: at(3) }]);
  await seedRun('beta', [{ provider: 'openai', model: 'gpt-4o', cost: '60', inputTokens: 5, outputTokens: 5, calledAt: at(0, -1), finishedAt: at(0, 2000) }]);
  await seedRun('alpha', [{ provider: 'anthropic', model: 'claude-haiku-4-5', cost: null, inputTokens: 0, outputTokens: 0, calledAt: null, finishedAt: null }]);
});

const range = () => ({ from: at(0), to: at(3) });

describe('spend', () => {
  it('sums cost and tokens over [from, to) exactly, equal to the sum of the runs\' costs', async () => {
    const report = await spendReport(db, { ...range(), groupBy: ['day'] });
    expect(report.total).toEqual({
      cost: addCosts(runCosts),
      inputTokens: 10 + 30 + 1 + 100 + 1000 + 50,
      outputTokens: 20 + 40 + 2 + 200 + 2000 + 60,
      cacheReadTokens: 5,
      cacheWriteTokens: 7,
      steps: 6,
      unpricedSteps: 1,
      modelCalls: 6,
      unpricedModelCalls: 1,
    });
    expect(report.total.cost).toBe('2.400000000006');
    expect(report).toMatchObject({ from: at(0).toISOString(), to: at(3).toISOString(), groupBy: ['day'], currency: 'USD' });
  });

  it('every groupBy adds up to the same total', async () => {
    const totals = await Promise.all((['day', 'pipeline', 'model', 'provider'] as const).map(async (dimension) => (await spendReport(db, { ...range(), groupBy: [dimension] })).total));
    for (const total of totals) expect(total).toEqual(totals[0]);
  });

  it('groups by UTC day, counting a cost on the day its model call was made', async () => {
    const { groups } = await spendReport(db, { ...range(), groupBy: ['day'] });
    expect(groups.map((g) => [g.day, g.cost, g.steps])).toEqual([
      [dayText(0), '0.300000000003', 2],
      [dayText(1), '1.70', 1],
      [dayText(2), '0.400000000003', 3],
    ]);
  });

  it('groups by pipeline (dearest first, with names), by provider and by model', async () => {
    const byPipeline = await spendReport(db, { ...range(), groupBy: ['pipeline'] });
    expect(byPipeline.groups.map((g) => [g.pipelineName, g.pipelineId, g.cost, g.steps])).toEqual([
      ['spend alpha', pipelines.alpha!.id, '2.000000000003', 3],
      ['spend beta', pipelines.beta!.id, '0.400000000003', 3],
    ]);
    const byProvider = await spendReport(db, { ...range(), groupBy: ['provider'] });
    expect(byProvider.groups.map((g) => [g.provider, g.cost, g.inputTokens])).toEqual([
      ['anthropic', '1.800000000001', 11],
      ['openai', '0.600000000005', 1180],
    ]);
    const byModel = await spendReport(db, { ...range(), groupBy: ['model'] });
    expect(byModel.groups.map((g) => [g.provider, g.model, g.cost, g.unpricedSteps])).toEqual([
      ['anthropic', 'claude-haiku-4-5', '1.800000000001', 0],
      ['openai', 'gpt-4o', '0.600000000005', 0],
      ['openai', 'llama3.1', '0.00', 1],
    ]);
  });

  it('groups by day and provider for a stacked chart', async () => {
    const { groups } = await spendReport(db, { ...range(), groupBy: ['day', 'provider'] });
    expect(groups.map((g) => [g.day, g.provider, g.cost])).toEqual([
      [dayText(0), 'openai', '0.200000000002'],
      [dayText(0), 'anthropic', '0.100000000001'],
      [dayText(1), 'anthropic', '1.70'],
      [dayText(2), 'openai', '0.400000000003'],
    ]);
  });

  it('groups by day and pipeline', async () => {
    const { groups } = await spendReport(db, { ...range(), groupBy: ['day', 'pipeline'] });
    expect(groups.map((g) => [g.day, g.pipelineName, g.cost])).toEqual([
      [dayText(0), 'spend alpha', '0.300000000003'],
      [dayText(1), 'spend alpha', '1.70'],
      [dayText(2), 'spend beta', '0.400000000003'],
    ]);
  });

  it('answers zeros for a range without spend', async () => {
    const report = await spendReport(db, { from: at(-400), to: at(-300), groupBy: ['pipeline'] });
    expect(report.groups).toEqual([]);
    expect(report.total).toEqual({ cost: '0.00', inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, steps: 0, unpricedSteps: 0, modelCalls: 0, unpricedModelCalls: 0 });
  });

  it('refuses an empty or reversed range and unknown or repeated dimensions', async () => {
    await expect(spendReport(db, { from: at(1), to: at(1), groupBy: ['day'] })).rejects.toThrow(InvalidSpendQueryError);
    await expect(spendReport(db, { from: at(2), to: at(1), groupBy: ['day'] })).rejects.toThrow('from must be before to');
    await expect(spendReport(db, { ...range(), groupBy: ['week' as 'day'] })).rejects.toThrow('groupBy "week"');
    await expect(spendReport(db, { ...range(), groupBy: ['day', 'day'] })).rejects.toThrow('twice');
    await expect(spendReport(db, { ...range(), groupBy: [] })).rejects.toThrow('one or two');
  });
});

describe('spend of what the run engine records', () => {
  const store = new RunStore(sqlPool(db));
  const haiku = { provider: 'anthropic', model: 'claude-haiku-4-5' };
  const gpt = { provider: 'openai', model: 'gpt-4o' };
  const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, warnings: [], failedAttempts: [], firstTokenMs: null };
  const turnOf = (turn: number, model: { provider: string; model: string }, cost: string, calledAt: Date, finishedAt: Date): TurnRecord => ({
    turn, ...model, message: { role: 'assistant', content: 'calling a tool' }, stopReason: 'tool_use', ...usage, cost, calledAt, finishedAt,
  });

  /** A pipeline of `steps` steps and runs of it started at `startedAt`, each at its first step. */
  async function startedRuns(name: string, steps: number, runs: number, startedAt: Date) {
    const agent = await db.agent.create({ data: { id: newId('agt'), name, model: 'anthropic:claude-haiku-4-5' } });
    const indexes = Array.from({ length: steps }, (_, index) => ({ index, agentId: agent.id }));
    const pipeline = await db.pipeline.create({ data: { id: newId('pip'), name, steps: { create: indexes } } });
    const runIds = Array.from({ length: runs }, () => newId('run'));
    for (const id of runIds) {
      await db.run.create({ data: { id, pipelineId: pipeline.id, input: 'x', steps: { create: indexes } } });
      await store.start(id, { index: 0, ...haiku }, startedAt);
    }
    return { pipeline, runIds };
  }

  const runsCost = async (runIds: string[]) => addCosts((await db.run.findMany({ where: { id: { in: runIds } } })).map((run) => run.cost?.toFixed() ?? null));

  it('counts each step at its model call, under its run\'s pipeline; a step ended mid tool loop by its turns, each at its own call', async () => {
    const { pipeline, runIds } = await startedRuns('spend recorded', 1, 2, at(20));
    // Called just before midnight, finished after it.
    const last: StepRecord = { index: 0, ...haiku, ...usage, output: 'done', cost: '0.3', calledAt: at(21, -500), finishedAt: at(21, 1000) };
    await store.complete(runIds[0]!, last, {
      output: 'done', inputTokens: 10, outputTokens: 5, cost: '0.3', finishedAt: at(21, 1000), pipelineName: 'spend recorded', artifactData: {}, models: ['claude-haiku-4-5'], durationMs: 1,
    });
    // Two turns that asked for tools, then the run is canceled: what they cost stays, each turn on the day
    // of its call (the second one answered by a fallback model), the step at its last turn.
    await store.recordTurn(runIds[1]!, 0, turnOf(1, haiku, '0.02', at(20, 2000), at(20, 3000)));
    await store.recordTurn(runIds[1]!, 0, turnOf(2, gpt, '0.005', at(21, 100), at(21, 900)));
    expect(await store.end(runIds[1]!, { status: 'canceled' }, at(21, 2000))).toMatchObject({ ended: true });

    const report = await spendReport(db, { from: at(20), to: at(22), groupBy: ['day', 'pipeline'] });
    expect(report.groups.map((g) => [g.day, g.pipelineId, g.pipelineName, g.cost, g.steps, g.modelCalls])).toEqual([
      [dayText(20), pipeline.id, 'spend recorded', '0.32', 1, 2],
      [dayText(21), pipeline.id, 'spend recorded', '0.005', 1, 1],
    ]);
    const byModel = await spendReport(db, { from: at(20), to: at(22), groupBy: ['model'] });
    expect(byModel.groups.map((g) => [g.model, g.cost, g.inputTokens, g.modelCalls])).toEqual([
      ['claude-haiku-4-5', '0.32', 20, 2],
      ['gpt-4o', '0.005', 10, 1],
    ]);
    expect(report.total.cost).toBe(await runsCost(runIds));
  });

  it('counts each turn of a tool-loop step on the day of its own call and under the model that answered it', async () => {
    const { runIds } = await startedRuns('spend tool loop', 2, 1, at(30, 80_000_000));
    const runId = runIds[0]!;
    // Step 1 is one model call, made on day 30.
    await store.recordStep(runId, { index: 0, ...haiku, ...usage, output: 'plan', cost: '0.1', calledAt: at(30, 81_000_000), finishedAt: at(30, 81_001_000) }, { index: 1, ...haiku });
    // Step 2 is a tool loop: its first turn is called 0.5 s before midnight and answers after it, its
    // second is answered by a fallback model (another provider), its third by the agent's own model.
    const turns = [
      turnOf(1, haiku, '0.000000000001', at(31, -500), at(31, 1500)),
      turnOf(2, gpt, '0.2', at(31, 2000), at(31, 3000)),
      turnOf(3, haiku, '0.3', at(31, 4000), at(31, 5000)),
    ];
    for (const turn of turns) await store.recordTurn(runId, 1, turn);
    const cost = addCosts(turns.map((turn) => turn.cost));
    const loop: StepRecord = { index: 1, ...haiku, ...usage, inputTokens: 30, outputTokens: 15, output: 'done', cost, calledAt: at(31, 4000), spentInTurns: true, finishedAt: at(31, 6000) };
    await store.complete(runId, loop, {
      output: 'done', inputTokens: 40, outputTokens: 20, cost: addCosts(['0.1', cost]), finishedAt: at(31, 6000), pipelineName: 'spend tool loop', artifactData: {}, models: ['claude-haiku-4-5'], durationMs: 1,
    });

    const range = { from: at(30), to: at(32) };
    const byDay = await spendReport(db, { ...range, groupBy: ['day'] });
    expect(byDay.groups.map((g) => [g.day, g.cost, g.inputTokens, g.outputTokens, g.steps, g.modelCalls])).toEqual([
      [dayText(30), '0.100000000001', 20, 10, 1, 2],
      [dayText(31), '0.50', 20, 10, 1, 2],
    ]);
    const byModel = await spendReport(db, { ...range, groupBy: ['model'] });
    expect(byModel.groups.map((g) => [g.provider, g.model, g.cost, g.steps, g.modelCalls])).toEqual([
      ['anthropic', 'claude-haiku-4-5', '0.400000000001', 2, 3],
      ['openai', 'gpt-4o', '0.20', 0, 1],
    ]);
    const byDayAndProvider = await spendReport(db, { ...range, groupBy: ['day', 'provider'] });
    expect(byDayAndProvider.groups.map((g) => [g.day, g.provider, g.cost])).toEqual([
      [dayText(30), 'anthropic', '0.100000000001'],
      [dayText(31), 'anthropic', '0.30'],
      [dayText(31), 'openai', '0.20'],
    ]);
    // Every call once: the sums are the run's cost and usage, whatever the groupBy.
    for (const report of [byDay, byModel, byDayAndProvider]) {
      expect(report.total).toEqual({ cost: '0.600000000001', inputTokens: 40, outputTokens: 20, cacheReadTokens: 0, cacheWriteTokens: 0, steps: 2, unpricedSteps: 0, modelCalls: 4, unpricedModelCalls: 0 });
    }
    expect(byDay.total.cost).toBe(await runsCost(runIds));
  });
});

describe('runs stopped by their budget', () => {
  it('lists failed runs whose error is budget_exceeded, with what they spent and their budget', async () => {
    const created = at(10);
    const stopped = await db.run.create({
      data: {
        id: newId('run'),
        pipelineId: pipelines.alpha!.id,
        input: 'x',
        status: 'failed',
        cost: '0.9',
        createdAt: created,
        finishedAt: at(10, 1000),
        error: { code: 'budget_exceeded', message: 'the next model call could cost up to …', budget: '1.00', spentSoFar: '0.90', worstCase: '0.20', remaining: '0.10' },
      },
    });
    await db.run.create({ data: { id: newId('run'), pipelineId: pipelines.alpha!.id, input: 'x', status: 'failed', createdAt: created, error: { code: 'provider_error', message: 'boom' } } });
    expect(await runsStoppedByBudget(db, { from: at(10), to: at(11), limit: 10 })).toEqual([
      { id: stopped.id, pipelineId: pipelines.alpha!.id, pipelineName: 'spend alpha', createdAt: created.toISOString(), finishedAt: at(10, 1000).toISOString(), cost: '0.90', budget: '1.00' },
    ]);
  });
});
