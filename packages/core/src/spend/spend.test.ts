import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCosts } from '../catalog/cost.ts';
import { createDatabase } from '../db/client.ts';
import { newId } from '../ids.ts';
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
  finishedAt: Date | null;
}

const pipelines: Record<string, { id: string; name: string }> = {};
const runCosts: string[] = [];

async function seedRun(pipeline: string, steps: StepSeed[]) {
  const agent = await db.agent.create({ data: { id: newId('agt'), name: 'spender', model: 'anthropic:claude-haiku-4-5' } });
  const runCost = addCosts(steps.map((s) => s.cost));
  await db.run.create({
    data: {
      id: newId('run'),
      pipelineId: pipelines[pipeline]!.id,
      input: 'spend',
      status: 'succeeded',
      cost: runCost,
      steps: {
        create: steps.map((s, index) => ({
          index,
          agentId: agent.id,
          status: 'succeeded' as const,
          provider: s.provider,
          model: s.model,
          cost: s.cost,
          inputTokens: s.inputTokens,
          outputTokens: s.outputTokens,
          cacheReadTokens: s.cacheReadTokens ?? 0,
          cacheWriteTokens: s.cacheWriteTokens ?? 0,
          finishedAt: s.finishedAt,
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
      { provider: 'anthropic', model: 'claude-haiku-4-5', cost: '0.100000000001', inputTokens: 10, outputTokens: 20, cacheReadTokens: 5, finishedAt: at(0) },
      { provider: 'openai', model: 'gpt-4o', cost: '0.200000000002', inputTokens: 30, outputTokens: 40, finishedAt: at(0, 86_400_000 - 1) },
    ]),
    await seedRun('alpha', [{ provider: 'anthropic', model: 'claude-haiku-4-5', cost: '1.7', inputTokens: 1, outputTokens: 2, cacheWriteTokens: 7, finishedAt: at(1) }]),
    await seedRun('beta', [
      { provider: 'openai', model: 'gpt-4o', cost: '0.000000000003', inputTokens: 100, outputTokens: 200, finishedAt: at(2, 5000) },
      // A model without a known price: tokens counted, no cost.
      { provider: 'openai', model: 'llama3.1', cost: null, inputTokens: 1000, outputTokens: 2000, finishedAt: at(2, 6000) },
    ]),
  );
  // Outside the range: exactly at `to` (exclusive), just before `from`, and a step that has not finished.
  await seedRun('beta', [{ provider: 'openai', model: 'gpt-4o', cost: '50', inputTokens: 5, outputTokens: 5, finishedAt: at(3) }]);
  await seedRun('beta', [{ provider: 'openai', model: 'gpt-4o', cost: '60', inputTokens: 5, outputTokens: 5, finishedAt: at(0, -1) }]);
  await seedRun('alpha', [{ provider: 'anthropic', model: 'claude-haiku-4-5', cost: null, inputTokens: 0, outputTokens: 0, finishedAt: null }]);
});

const range = () => ({ from: at(0), to: at(3) });

describe('spend', () => {
  it('sums cost and tokens over [from, to) exactly, equal to the sum of the runs\' costs', async () => {
    const report = await spendReport(db, { ...range(), groupBy: ['day'] });
    expect(report.total).toEqual({
      cost: addCosts(runCosts),
      inputTokens: 10 + 30 + 1 + 100 + 1000,
      outputTokens: 20 + 40 + 2 + 200 + 2000,
      cacheReadTokens: 5,
      cacheWriteTokens: 7,
      steps: 5,
      unpricedSteps: 1,
    });
    expect(report.total.cost).toBe('2.000000000006');
    expect(report).toMatchObject({ from: at(0).toISOString(), to: at(3).toISOString(), groupBy: ['day'], currency: 'USD' });
  });

  it('groups by UTC day, counting a cost on the day its step finished', async () => {
    const { groups } = await spendReport(db, { ...range(), groupBy: ['day'] });
    expect(groups.map((g) => [g.day, g.cost, g.steps])).toEqual([
      [dayText(0), '0.300000000003', 2],
      [dayText(1), '1.70', 1],
      [dayText(2), '0.000000000003', 2],
    ]);
  });

  it('groups by pipeline (dearest first, with names), by provider and by model', async () => {
    const byPipeline = await spendReport(db, { ...range(), groupBy: ['pipeline'] });
    expect(byPipeline.groups.map((g) => [g.pipelineName, g.pipelineId, g.cost])).toEqual([
      ['spend alpha', pipelines.alpha!.id, '2.000000000003'],
      ['spend beta', pipelines.beta!.id, '0.000000000003'],
    ]);
    const byProvider = await spendReport(db, { ...range(), groupBy: ['provider'] });
    expect(byProvider.groups.map((g) => [g.provider, g.cost, g.inputTokens])).toEqual([
      ['anthropic', '1.800000000001', 11],
      ['openai', '0.200000000005', 1130],
    ]);
    const byModel = await spendReport(db, { ...range(), groupBy: ['model'] });
    expect(byModel.groups.map((g) => [g.provider, g.model, g.cost, g.unpricedSteps])).toEqual([
      ['anthropic', 'claude-haiku-4-5', '1.800000000001', 0],
      ['openai', 'gpt-4o', '0.200000000005', 0],
      ['openai', 'llama3.1', '0.00', 1],
    ]);
  });

  it('groups by day and provider for a stacked chart', async () => {
    const { groups } = await spendReport(db, { ...range(), groupBy: ['day', 'provider'] });
    expect(groups.map((g) => [g.day, g.provider, g.cost])).toEqual([
      [dayText(0), 'openai', '0.200000000002'],
      [dayText(0), 'anthropic', '0.100000000001'],
      [dayText(1), 'anthropic', '1.70'],
      [dayText(2), 'openai', '0.000000000003'],
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
