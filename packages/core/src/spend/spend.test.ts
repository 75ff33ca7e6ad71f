import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCosts } from '../catalog/cost.ts';
import { createDatabase, sqlPool } from '../db/client.ts';
import { newId } from '../ids.ts';
import { RunStore, type StepRecord } from '../runs/engine/store.ts';
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
    expect(report.total).toEqual({ cost: '0.00', inputTokens: 0, outputTokens: 0, cacheReadTokens: 0, cacheWriteTokens: 0, steps: 0, unpricedSteps: 0 });
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
  const start = { index: 0, provider: 'anthropic', model: 'claude-haiku-4-5' };
  const usage = { inputTokens: 10, outputTokens: 5, cacheReadTokens: 0, cacheWriteTokens: 0, warnings: [], failedAttempts: [], firstTokenMs: null };

  it('counts a step at its model call, under its run\'s pipeline; a step ended mid tool loop at its last turn', async () => {
    const agent = await db.agent.create({ data: { id: newId('agt'), name: 'recorded', model: 'anthropic:claude-haiku-4-5' } });
    const pipeline = await db.pipeline.create({ data: { id: newId('pip'), name: 'spend recorded', steps: { create: [{ index: 0, agentId: agent.id }] } } });
    const runIds = [newId('run'), newId('run')];
    for (const id of runIds) {
      await db.run.create({ data: { id, pipelineId: pipeline.id, input: 'x', steps: { create: [{ index: 0, agentId: agent.id }] } } });
      await store.start(id, start, at(20));
    }
    // Called just before midnight, finished after it.
    const last: StepRecord = { ...start, ...usage, output: 'done', cost: '0.3', calledAt: at(21, -500), finishedAt: at(21, 1000) };
    await store.complete(runIds[0]!, last, {
      output: 'done', inputTokens: 10, outputTokens: 5, cost: '0.3', finishedAt: at(21, 1000), pipelineName: 'spend recorded', artifactData: {}, models: ['claude-haiku-4-5'], durationMs: 1,
    });
    // A turn that asked for a tool, then the run is canceled after midnight: the turn's cost stays, on the turn's day.
    await store.recordTurn(runIds[1]!, 0, {
      turn: 1, provider: 'anthropic', model: 'claude-haiku-4-5', message: { role: 'assistant', content: 'thinking' }, stopReason: 'tool_use', ...usage, cost: '0.02', finishedAt: at(20, 3000),
    });
    expect(await store.end(runIds[1]!, { status: 'canceled' }, at(21, 2000))).toMatchObject({ ended: true });

    const report = await spendReport(db, { from: at(20), to: at(22), groupBy: ['day', 'pipeline'] });
    expect(report.groups.map((g) => [g.day, g.pipelineId, g.pipelineName, g.cost, g.steps])).toEqual([[dayText(20), pipeline.id, 'spend recorded', '0.32', 2]]);
    const runs = await db.run.findMany({ where: { id: { in: runIds } } });
    expect(report.total.cost).toBe(addCosts(runs.map((run) => run.cost?.toFixed() ?? null)));
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
