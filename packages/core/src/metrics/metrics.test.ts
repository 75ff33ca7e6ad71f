import { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../queue/connection.ts';
import { queuePrefix } from '../queue/names.ts';
import { testPrefix } from '../../testkit/index.ts';
import { exposition } from './exposition.ts';
import { instrumentProvider } from './instrument-provider.ts';
import { Metrics } from './metrics.ts';
import { parsePrometheusText, PrometheusTextError, sampleSum } from './prometheus-text.ts';
import { ProviderError } from '../providers/errors.ts';

const redis = createRedis(process.env.REDIS_URL!);
afterAll(async () => {
  await redis.quit();
});

describe('metrics', () => {
  it('renders every metric as valid Prometheus text', async () => {
    const metrics = new Metrics();
    metrics.runFinished('succeeded', 1500);
    metrics.stepFinished('anthropic', 'claude-sonnet-4-5', 'succeeded', 700);
    metrics.providerCall('openai', 'gpt-4o', 300, 'rate_limited');
    metrics.tokensUsed('openai', 'gpt-4o', { inputTokens: 10, outputTokens: 5 });
    metrics.costIncurred('openai', 'gpt-4o', '0.000075');
    metrics.pipelineCostIncurred('pl_1', '0.25');
    metrics.pipelineCostIncurred('pl_1', '0.5');
    metrics.budgetExceeded('pl_1');
    metrics.webhookDelivery('succeeded');
    await metrics.whileSseOpen(async () => {
      const samples = parsePrometheusText(await metrics.registry.metrics());
      expect(sampleSum(samples, 'conveyor_sse_subscribers')).toBe(1);
    });
    const samples = parsePrometheusText(await metrics.registry.metrics());
    expect(sampleSum(samples, 'conveyor_runs_finished_total', { status: 'succeeded' })).toBe(1);
    expect(sampleSum(samples, 'conveyor_run_duration_seconds_sum', { status: 'succeeded' })).toBe(1.5);
    expect(sampleSum(samples, 'conveyor_provider_errors_total', { provider: 'openai', model: 'gpt-4o', kind: 'rate_limited' })).toBe(1);
    expect(sampleSum(samples, 'conveyor_tokens_total', { model: 'gpt-4o', type: 'output' })).toBe(5);
    expect(sampleSum(samples, 'conveyor_cost_usd_total', { model: 'gpt-4o' })).toBeCloseTo(0.000075, 12);
    expect(sampleSum(samples, 'conveyor_pipeline_cost_usd_total', { pipeline_id: 'pl_1' })).toBe(0.75);
    expect(sampleSum(samples, 'conveyor_budget_exceeded_total', { pipeline_id: 'pl_1' })).toBe(1);
    expect(sampleSum(samples, 'conveyor_webhook_deliveries_total', { outcome: 'succeeded' })).toBe(1);
    expect(sampleSum(samples, 'conveyor_sse_subscribers')).toBe(0);
  });

  it('reads queue depth per state from BullMQ at scrape time', async () => {
    const queue = new Queue('runs', { connection: redis, prefix: queuePrefix(testPrefix('metrics')) });
    await queue.add('run', { runId: 'a' });
    await queue.add('run', { runId: 'b' }, { delay: 60_000 });
    const samples = parsePrometheusText(await exposition([queue]).render());
    expect(sampleSum(samples, 'conveyor_queue_jobs', { queue: 'runs', state: 'waiting' })).toBe(1);
    expect(sampleSum(samples, 'conveyor_queue_jobs', { queue: 'runs', state: 'delayed' })).toBe(1);
    expect(sampleSum(samples, 'conveyor_queue_jobs', { queue: 'runs', state: 'failed' })).toBe(0);
    await queue.obliterate({ force: true });
    await queue.close();
  });

  it('times provider calls and counts their failures by error kind', async () => {
    const metrics = new Metrics();
    const failing = instrumentProvider(
      { id: 'anthropic', chat: () => Promise.reject(new ProviderError({ provider: 'anthropic', message: 'overloaded', kind: 'overloaded', transient: true })) },
      metrics,
    );
    await expect(failing.chat({ model: 'claude-x', messages: [] })).rejects.toThrow('overloaded');
    const samples = parsePrometheusText(await metrics.registry.metrics());
    expect(sampleSum(samples, 'conveyor_provider_errors_total', { provider: 'anthropic', kind: 'overloaded' })).toBe(1);
    expect(sampleSum(samples, 'conveyor_provider_call_duration_seconds_count', { provider: 'anthropic', outcome: 'error' })).toBe(1);
  });

  it('rejects text that is not Prometheus exposition format', () => {
    expect(() => parsePrometheusText('conveyor_x{status=unquoted} 1')).toThrow(PrometheusTextError);
    expect(() => parsePrometheusText('not a metric line')).toThrow(PrometheusTextError);
  });
});
