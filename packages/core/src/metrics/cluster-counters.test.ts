import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../queue/connection.ts';
import { testPrefix } from '../../testkit/index.ts';
import { clusterCountersRegistry, DeploymentCounters } from './cluster-counters.ts';
import { parsePrometheusText, sampleSum } from './prometheus-text.ts';
import type { FinishedRun } from './run-observer.ts';

const run = (status: string, cost: string | null): FinishedRun => ({
  pipelineId: 'pip_counters',
  status,
  startedAt: null,
  finishedAt: null,
  steps: [
    {
      provider: 'anthropic',
      model: 'claude-haiku-4-5',
      status: 'succeeded',
      startedAt: null,
      finishedAt: null,
      inputTokens: 10,
      outputTokens: 5,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      cost,
      firstTokenMs: null,
    },
  ],
});

describe('deployment counters', () => {
  const redis = createRedis(process.env.REDIS_URL!);
  afterAll(() => redis.disconnect());

  const read = async (prefix: string) => parsePrometheusText(await clusterCountersRegistry(redis, prefix).metrics());

  it('gathers the runs of an interval into one write, sent at the interval or at close', async () => {
    const prefix = testPrefix('counters-gather');
    const counters = new DeploymentCounters(redis, prefix, { flushIntervalMs: 60_000 });
    for (let i = 0; i < 100; i++) await counters.add(run('succeeded', '0.000125'));
    await counters.add(run('failed', null));
    expect(await redis.exists(`${prefix}:metrics:runs`)).toBe(0);

    await counters.close();
    const samples = await read(prefix);
    expect(sampleSum(samples, 'conveyor_deployment_runs_total', { status: 'succeeded' })).toBe(100);
    expect(sampleSum(samples, 'conveyor_deployment_runs_total', { status: 'failed' })).toBe(1);
    expect(sampleSum(samples, 'conveyor_deployment_tokens_total', { provider: 'anthropic', model: 'claude-haiku-4-5', type: 'input' })).toBe(1010);
    // 100 × 0.000125, summed exactly before it becomes a float.
    expect(await redis.hget(`${prefix}:metrics:runs`, 'cost\u001fanthropic\u001fclaude-haiku-4-5')).toBe('0.0125');
    expect(await redis.hget(`${prefix}:metrics:runs`, 'pipeline_cost\u001fpip_counters')).toBe('0.0125');
  });

  it('keeps the increments Redis refused for the next flush', async () => {
    const prefix = testPrefix('counters-refused');
    const hash = `${prefix}:metrics:runs`;
    const counters = new DeploymentCounters(redis, prefix, { flushIntervalMs: 0 });
    await redis.set(hash, 'not a hash');
    await counters.add(run('succeeded', '0.5'));
    await redis.del(hash);
    await counters.flush();
    expect(sampleSum(await read(prefix), 'conveyor_deployment_runs_total', { status: 'succeeded' })).toBe(1);
    expect(await redis.hget(hash, 'cost\u001fanthropic\u001fclaude-haiku-4-5')).toBe('0.5');
  });
});
