import type { Scope } from './scope.ts';
import type { BenchEnvironment } from './environment.ts';

/** A condition a figure must meet, checked against its value or its ratio to the baseline. */
export interface Target {
  on: 'value' | 'ratio';
  comparison: '>=' | '<=' | '<';
  limit: number;
  /** As printed in the table, e.g. "≥ 0.5×" or "< 10 ms". */
  text: string;
}

/** One row of the results table. */
export interface Figure {
  metric: string;
  value: number;
  unit: string;
  /** The same quantity measured for the baseline in the same run. */
  baseline?: number;
  /** The baseline's unit when it differs from the value's (e.g. steps/s beside turns/s). */
  baselineUnit?: string;
  /** How value and baseline compare (value ÷ baseline unless the benchmark says otherwise). */
  ratio?: number;
  target?: Target;
}

export interface BenchmarkOutcome {
  figures: Figure[];
  /** Anything else worth keeping in the JSON results: sizes, counts, plans, profiles. */
  details: Record<string, unknown>;
}

/** Workload sizes: `full` is the specification, `quick` proves the benchmark works in seconds. */
export type Size = 'full' | 'quick';

export interface BenchContext {
  size: Size;
  env: BenchEnvironment;
  /** Cleanups registered here run when the benchmark ends, newest first. */
  scope: Scope;
  /** A Redis key prefix no other benchmark or process uses. */
  prefix(label: string): string;
  log(message: string): void;
  /** When set, product processes write V8 CPU profiles here (`--cpu-prof`). */
  profileDir?: string;
  /** A value computed once per invocation and shared by benchmarks (e.g. a makespan both makespan and scale-out need). */
  shared<T>(key: string, compute: () => Promise<T>): Promise<T>;
}

export interface Benchmark {
  name: string;
  measures: string;
  baseline: string;
  run(ctx: BenchContext): Promise<BenchmarkOutcome>;
}

export const targets = {
  ratioAtLeast: (limit: number): Target => ({ on: 'ratio', comparison: '>=', limit, text: `≥ ${limit}×` }),
  ratioAtMost: (limit: number): Target => ({ on: 'ratio', comparison: '<=', limit, text: `≤ ${limit}×` }),
  atLeast: (limit: number, unit: string): Target => ({ on: 'value', comparison: '>=', limit, text: `≥ ${limit.toLocaleString('en-US')} ${unit}` }),
  atMost: (limit: number, unit: string): Target => ({ on: 'value', comparison: '<=', limit, text: `≤ ${limit} ${unit}` }),
  below: (limit: number, unit: string): Target => ({ on: 'value', comparison: '<', limit, text: `< ${limit} ${unit}` }),
};

/** True or false when the figure has a target it can be checked against; undefined otherwise. */
export function meetsTarget(figure: Figure): boolean | undefined {
  const { target } = figure;
  if (!target) return undefined;
  const measured = target.on === 'value' ? figure.value : figure.ratio;
  if (measured === undefined || !Number.isFinite(measured)) return false;
  if (target.comparison === '>=') return measured >= target.limit;
  if (target.comparison === '<=') return measured <= target.limit;
  return measured < target.limit;
}

/** value ÷ baseline, or undefined when there is no usable baseline. */
export function ratioOf(value: number, baseline: number | undefined): number | undefined {
  return baseline && Number.isFinite(baseline) && baseline !== 0 ? value / baseline : undefined;
}
