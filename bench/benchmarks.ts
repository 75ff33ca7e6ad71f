import type { Benchmark } from './harness/benchmark.ts';
import { enqueue } from './enqueue.ts';
import { steps } from './steps.ts';
import { toolLoop } from './tool-loop.ts';
import { makespan } from './makespan.ts';
import { scaleOut } from './scale-out.ts';
import { sse, sseFanOut } from './sse.ts';
import { memory } from './memory.ts';
import { lists } from './lists.ts';
import { spend } from './spend.ts';
import { capacity } from './capacity.ts';

/** Every benchmark, in the order a full run takes them. */
export const benchmarks: Benchmark[] = [enqueue, steps, toolLoop, makespan, scaleOut, sse, sseFanOut, memory, capacity, lists, spend];
