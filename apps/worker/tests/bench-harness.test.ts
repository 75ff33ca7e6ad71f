import { describe, expect, it } from 'vitest';
import { imageEnvironment } from '../../../bench/harness/product.ts';
import { cpuMicrosPer, cpuSeconds } from '../../../bench/harness/cpu-time.ts';

describe('the benchmarks run the bundles as the image does', () => {
  it('takes the runtime stage’s ENV lines, not the other stages’', () => {
    const dockerfile = [
      'FROM node:20 AS build',
      'ENV BUILD_ONLY=1',
      'FROM node:20-bookworm-slim AS runtime',
      'WORKDIR /app',
      'ENV NODE_ENV=production LOG_FORMAT=json',
      '# a comment',
      'ENV MALLOC_TRIM_THRESHOLD_=131072',
      'CMD ["node", "apps/api/dist/server.js"]',
    ].join('\n');
    expect(imageEnvironment(dockerfile)).toEqual({ NODE_ENV: 'production', LOG_FORMAT: 'json', MALLOC_TRIM_THRESHOLD_: '131072' });
  });

  it('reads the repository’s Dockerfile, allocator setting included', () => {
    expect(imageEnvironment()).toMatchObject({ NODE_ENV: 'production', MALLOC_TRIM_THRESHOLD_: '131072' });
  });

  it('refuses a Dockerfile without a runtime stage', () => {
    expect(() => imageEnvironment('FROM node:20\nENV A=1\n')).toThrow(/no stage named runtime/);
  });
});

describe('CPU time per unit of work', () => {
  it('counts a process’s CPU time between two readings, as the kernel reports it to the process', async () => {
    const groups = { self: { pids: [process.pid] } };
    const before = await cpuSeconds(groups);
    const usageBefore = process.cpuUsage();
    let spin = 0;
    while (process.cpuUsage(usageBefore).user < 200_000) spin++;
    const usage = process.cpuUsage(usageBefore);
    const after = await cpuSeconds(groups);
    expect(spin).toBeGreaterThan(0);
    // Every thread of the process, per unit of work: /proc counts in ticks of 10 ms, so allow two of them
    // (and the two readings themselves) on either side.
    const perUnit = cpuMicrosPer(before, after, 2);
    const expected = (usage.user + usage.system) / 2;
    expect(perUnit.self).toBeGreaterThan(expected - 15_000);
    expect(perUnit.self).toBeLessThan(expected + 15_000);
  });

  it('sums every process of a command, and says NaN for one that is not running', async () => {
    const readings = await cpuSeconds({ node: { command: 'node' }, absent: { command: 'no-such-command-here' } });
    expect(readings.node).toBeGreaterThan(0);
    expect(readings.absent).toBeNaN();
  });
});
