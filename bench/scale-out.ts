import { type Benchmark, ratioOf, targets } from './harness/benchmark.ts';
import { makespanLoad } from './harness/makespan-load.ts';

export const scaleOut: Benchmark = {
  name: 'scale-out',
  measures: 'steps/s on the makespan load with 2 worker processes',
  baseline: 'the same load with 1 worker process; the same pair of loads through hand-built worker processes',
  async run(ctx) {
    const one = await makespanLoad(ctx, 1);
    const two = await makespanLoad(ctx, 2);
    return {
      figures: [
        { metric: 'steps per second, 2 workers', value: two.stepsPerSecond, unit: 'steps/s', baseline: one.stepsPerSecond, ratio: ratioOf(two.stepsPerSecond, one.stepsPerSecond), target: targets.ratioAtLeast(1.8) },
        { metric: 'steps per second, 2 hand-built workers', value: two.handBuilt.stepsPerSecond, unit: 'steps/s', baseline: one.handBuilt.stepsPerSecond, ratio: ratioOf(two.handBuilt.stepsPerSecond, one.handBuilt.stepsPerSecond) },
      ],
      details: { oneWorker: one, twoWorkers: two },
    };
  },
};
