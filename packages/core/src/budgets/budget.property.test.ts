import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { listModels } from '../catalog/catalog.ts';
import { addCosts, computeCost, Decimal, type PricedUsage } from '../catalog/cost.ts';
import { checkBudget, type PromptCaching, worstCaseCost } from './index.ts';

/**
 * The engine's rule, simulated: before each model call (each turn of a tool loop
 * too) the worst case must fit in what is left; the call's real cost is then
 * whatever the provider reports, within the bounds a real call respects (its
 * prompt no longer than the counted bound, its output no longer than maxTokens).
 */
const pricedModels = listModels({ includeRetired: true }).flatMap((g) => g.models.map((m) => ({ key: `${g.provider}:${m.id}`, provider: g.provider })));

const call = fc.record({
  model: fc.constantFrom(...pricedModels),
  /** The counted upper bound on the prompt. */
  promptBound: fc.integer({ min: 0, max: 400_000 }),
  maxTokens: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
  caching: fc.constantFrom<PromptCaching>('off', '5m', '1h'),
  /** How the real prompt (≤ bound) splits into plain input, cache reads and writes. */
  promptShare: fc.double({ min: 0, max: 1, noNaN: true }),
  readShare: fc.double({ min: 0, max: 1, noNaN: true }),
  writeShare: fc.double({ min: 0, max: 1, noNaN: true }),
  oneHourShare: fc.double({ min: 0, max: 1, noNaN: true }),
  outputShare: fc.double({ min: 0, max: 1, noNaN: true }),
});

/** A pipeline: steps of one or more model turns, run at some time (prices change with the date). */
const run = fc.record({
  budget: fc.integer({ min: 0, max: 5_000_000 }).map((micro) => (micro / 1_000_000).toFixed(6)),
  startsAt: fc.date({ min: new Date('2026-06-01T00:00:00Z'), max: new Date('2026-12-31T00:00:00Z'), noInvalidDate: true }),
  steps: fc.array(fc.array(call, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 6 }),
});

type Call = typeof call extends fc.Arbitrary<infer T> ? T : never;

function realUsage(c: Call, maxOutput: number): PricedUsage {
  const prompt = Math.floor(c.promptBound * c.promptShare);
  const reads = Math.floor(prompt * c.readShare);
  const writes = c.caching === 'off' ? 0 : Math.floor((prompt - reads) * c.writeShare);
  const oneHour = c.caching === '1h' ? Math.floor(writes * c.oneHourShare) : 0;
  return {
    inputTokens: prompt - reads - writes,
    cacheReadTokens: reads,
    cacheWriteTokens: writes,
    cacheWrite1hTokens: oneHour,
    outputTokens: Math.floor(maxOutput * c.outputShare),
  };
}

describe('budgets', () => {
  it('a run whose every call passed the check never costs more than its budget', () => {
    const outcomes = { stopped: 0, finished: 0, callsMade: 0 };
    fc.assert(
      fc.property(run, ({ budget, startsAt, steps }) => {
        const costs: string[] = [];
        let at = startsAt.getTime();
        let stopped = false;
        for (const turns of steps) {
          for (const c of turns) {
            at += 3_600_000; // an hour per call: runs cross days, and so price changes
            const when = new Date(at);
            const worstCase = worstCaseCost({ model: c.model.key, at: when, inputTokens: c.promptBound, maxTokens: c.maxTokens, promptCaching: c.caching });
            const check = checkBudget({ budget, spentSoFar: addCosts(costs), worstCase });
            if (!check.ok) {
              stopped = true;
              break;
            }
            const cost = computeCost(c.model.key, realUsage(c, worstCase.outputTokens), when).cost!;
            expect(new Decimal(cost).lessThanOrEqualTo(worstCase.cost), `${c.model.key}: ${cost} > worst case ${worstCase.cost}`).toBe(true);
            costs.push(cost);
            outcomes.callsMade += 1;
          }
          if (stopped) break;
        }
        outcomes[stopped ? 'stopped' : 'finished'] += 1;
        const spent = addCosts(costs);
        expect(checkBudget({ budget, spentSoFar: spent, worstCase: '0' }).ok, `spent ${spent} of ${budget}`).toBe(true);
      }),
      { numRuns: 500 },
    );
    // Both outcomes were exercised: runs stopped by their budget and runs that finished within it.
    expect(outcomes.stopped).toBeGreaterThan(50);
    expect(outcomes.finished).toBeGreaterThan(50);
    expect(outcomes.callsMade).toBeGreaterThan(500);
  });
});
