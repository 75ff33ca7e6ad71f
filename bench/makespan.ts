import { type Benchmark, targets } from './harness/benchmark.ts';
import { makespanLoad } from './harness/makespan-load.ts';

export const makespan: Benchmark = {
  name: 'makespan',
  measures: 'time to finish 1,000 three-step runs, emulator answering after 500 ms, 2 worker processes × 100 concurrency',
  baseline: 'the ideal makespan: runs × steps × 0.5 s ÷ 200 slots; the same load through 2 hand-built worker processes',
  async run(ctx) {
    const result = await makespanLoad(ctx, 2);
    return {
      figures: [
        {
          metric: 'makespan, 2 workers (ratio = efficiency)',
          value: result.makespanSeconds,
          unit: 's',
          baseline: result.idealSeconds,
          ratio: result.idealSeconds / result.makespanSeconds,
          target: targets.ratioAtLeast(0.95),
        },
        {
          metric: 'makespan, 2 hand-built workers (ratio = efficiency)',
          value: result.handBuilt.makespanSeconds,
          unit: 's',
          baseline: result.idealSeconds,
          ratio: result.idealSeconds / result.handBuilt.makespanSeconds,
        },
      ],
      details: { ...result },
    };
  },
};
