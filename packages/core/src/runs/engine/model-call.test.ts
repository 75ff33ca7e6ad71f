import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCosts, computeCost, Decimal } from '../../catalog/cost.ts';
import type { Config } from '../../config.ts';
import { createDatabase } from '../../db/client.ts';
import { RunEventPublisher } from '../../events/publish.ts';
import { readRunEvents } from '../../events/replay.ts';
import { newId } from '../../ids.ts';
import { createLogger } from '../../logger.ts';
import { clusterCountersRegistry } from '../../metrics/cluster-counters.ts';
import { Metrics } from '../../metrics/metrics.ts';
import { parsePrometheusText, sampleSum } from '../../metrics/prometheus-text.ts';
import { createRedis } from '../../queue/connection.ts';
import { testConfig, testExecutionDeps } from '../../../testkit/index.ts';
import { runInclude, serializeRun } from '../serialize.ts';
import { executeRun } from './execution.ts';

describe('model calls of a run: budget, fallbacks, price at call time', () => {
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  const logger = createLogger({ level: 'silent' });
  const metrics = new Metrics();
  let emulator: Emulator;
  let config: Config;

  beforeAll(async () => {
    emulator = await startEmulator();
    config = testConfig({ ...emulator.providerEnv(), PROVIDER_MAX_RETRIES: '1' });
  });

  afterAll(async () => {
    redis.disconnect();
    await db.$disconnect();
    await emulator?.close();
  });

  const deps = (now?: () => Date) => testExecutionDeps({ db, redis, config, logger, metrics }, now ? { now } : {});

  async function runOf(options: {
    model: string;
    steps?: number;
    maxTokens?: number;
    fallbackModels?: string[];
    maxCostUsd?: string;
    input?: string;
    systemPrompt?: string;
    cacheSystemPrompt?: boolean;
  }) {
    const agent = await db.agent.create({
      data: {
        id: newId('agt'),
        name: 'writer',
        model: options.model,
        maxTokens: options.maxTokens ?? null,
        fallbackModels: options.fallbackModels ?? [],
        systemPrompt: options.systemPrompt ?? null,
        cacheSystemPrompt: options.cacheSystemPrompt ?? false,
      },
    });
    const indexes = Array.from({ length: options.steps ?? 1 }, (_, index) => index);
    const pipeline = await db.pipeline.create({
      data: { id: newId('pip'), name: 'model call test', steps: { create: indexes.map((index) => ({ index, agentId: agent.id })) } },
    });
    const run = await db.run.create({
      data: {
        id: newId('run'),
        pipelineId: pipeline.id,
        input: options.input ?? 'hello',
        maxCostUsd: options.maxCostUsd ?? null,
        steps: { create: indexes.map((index) => ({ index, agentId: agent.id })) },
      },
    });
    return run.id;
  }

  const execute = (runId: string, d = deps()) =>
    executeRun(d, runId, new RunEventPublisher(redis, config.REDIS_PREFIX, logger).forRun(runId), new AbortController().signal);
  const load = (runId: string) => db.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: { orderBy: { index: 'asc' } } } });

  it('never lets a run cost more than its budget: each call whose worst case might not fit is not made', async () => {
    // Five steps of gpt-4o-mini ($0.15 in, $0.60 out), each at most 20 output tokens; budgets from too small for one call to enough for all.
    const budgets = ['0.000001', '0.00002', '0.00003', '0.00005', '0.00008', '0.0001', '0.01'];
    const outcomes: string[] = [];
    for (const budget of budgets) {
      const runId = await runOf({ model: 'gpt-4o-mini', steps: 5, maxTokens: 20, maxCostUsd: budget, input: 'a budgeted question about something' });
      const requestsBefore = emulator.requests.length;
      const outcome = await execute(runId);
      const run = await load(runId);
      const called = run.steps.filter((step) => step.status === 'succeeded');
      expect(emulator.requests.length - requestsBefore).toBe(called.length);
      const spent = addCosts(run.steps.map((step) => step.cost?.toFixed() ?? null));
      expect(new Decimal(spent).lessThanOrEqualTo(budget), `spent ${spent} of ${budget}`).toBe(true);
      expect(run.cost === null ? '0.00' : addCosts([run.cost.toFixed()])).toBe(spent);
      if (outcome.status === 'failed') {
        expect(outcome.error).toMatchObject({ code: 'budget_exceeded', step: called.length, budget: addCosts([budget]), spentSoFar: spent });
        expect(run.steps[called.length]!.status).toBe('failed');
        expect(run.error).toMatchObject({ code: 'budget_exceeded' });
      } else {
        expect(outcome.status).toBe('succeeded');
      }
      outcomes.push(`${outcome.status}:${called.length}`);
    }
    // Stopped before the first call, part-way, and not at all.
    expect(outcomes[0]).toBe('failed:0');
    expect(outcomes.some((o) => /^failed:[1-4]$/.test(o))).toBe(true);
    expect(outcomes.at(-1)).toBe('succeeded:5');
  });

  it('counts cost by provider, model and pipeline, and runs stopped by their budget, in this process and for the deployment', async () => {
    const paid = await runOf({ model: 'gpt-4o-mini', maxTokens: 20 });
    const stopped = await runOf({ model: 'gpt-4o-mini', maxTokens: 20, maxCostUsd: '0.000000001' });
    expect(await execute(paid)).toMatchObject({ status: 'succeeded' });
    expect(await execute(stopped)).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded' } });
    const [paidRun, stoppedRun] = [await load(paid), await load(stopped)];
    const cost = Number(paidRun.cost!.toFixed());
    expect(cost).toBeGreaterThan(0);

    const local = parsePrometheusText(await metrics.registry.metrics());
    expect(sampleSum(local, 'conveyor_pipeline_cost_usd_total', { pipeline_id: paidRun.pipelineId })).toBeCloseTo(cost, 12);
    expect(sampleSum(local, 'conveyor_budget_exceeded_total', { pipeline_id: stoppedRun.pipelineId })).toBe(1);
    expect(sampleSum(local, 'conveyor_budget_exceeded_total', { pipeline_id: paidRun.pipelineId })).toBe(0);
    const deployment = parsePrometheusText(await clusterCountersRegistry(redis, config.REDIS_PREFIX).metrics());
    expect(sampleSum(deployment, 'conveyor_deployment_pipeline_cost_usd_total', { pipeline_id: paidRun.pipelineId })).toBeCloseTo(cost, 12);
    expect(sampleSum(deployment, 'conveyor_deployment_budget_exceeded_total', { pipeline_id: stoppedRun.pipelineId })).toBe(1);
    expect(sampleSum(deployment, 'conveyor_deployment_cost_usd_total', { provider: 'openai', model: 'gpt-4o-mini' })).toBeGreaterThanOrEqual(cost);
  });

  it('asks Anthropic to count the prompt when the byte bound alone does not fit the budget', async () => {
    // claude-haiku-4-5: $1 in, $5 out. 4,000 characters bound at 4,032 tokens by bytes ($0.004032 + 10 × $5/M); counted: about 1,000.
    const runId = await runOf({ model: 'claude-haiku-4-5', maxTokens: 10, maxCostUsd: '0.002', input: 'abcd'.repeat(1000) });
    const requestsBefore = emulator.requests.length;
    expect(await execute(runId)).toMatchObject({ status: 'succeeded' });
    expect(emulator.requests.slice(requestsBefore).map((r) => r.path)).toEqual(['/v1/messages/count_tokens', '/v1/messages']);
  });

  it('fails a budgeted run on a model without a price before calling it', async () => {
    const runId = await runOf({ model: 'openai:llama3.1', maxCostUsd: '1' });
    const requestsBefore = emulator.requests.length;
    expect(await execute(runId)).toMatchObject({ status: 'failed', error: { code: 'budget_exceeded', step: 0, message: expect.stringContaining('no known price') } });
    expect(emulator.requests.length).toBe(requestsBefore);
  });

  it('falls back to the next model, across providers, when the model still fails after its retries, and records who answered', async () => {
    const runId = await runOf({ model: 'claude-haiku-4-5', fallbackModels: ['claude-sonnet-5', 'gpt-4o-mini'] });
    // Each model fails its first attempt and its retry; only gpt-4o-mini answers.
    emulator.script(
      ...['claude-haiku-4-5', 'claude-haiku-4-5', 'claude-sonnet-5', 'claude-sonnet-5'].map((model) => ({ model, status: 529, message: `${model} is overloaded` })),
    );
    const requestsBefore = emulator.requests.length;
    expect(await execute(runId)).toMatchObject({ status: 'succeeded' });

    expect(emulator.requests.slice(requestsBefore).map((r) => `${r.provider}:${(r.body as { model: string }).model}:${r.status}`)).toEqual([
      'anthropic:claude-haiku-4-5:529',
      'anthropic:claude-haiku-4-5:529',
      'anthropic:claude-sonnet-5:529',
      'anthropic:claude-sonnet-5:529',
      'openai:gpt-4o-mini:200',
    ]);
    const step = (await load(runId)).steps[0]!;
    expect(step).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', status: 'succeeded' });
    expect(step.failedAttempts).toEqual([
      { provider: 'anthropic', model: 'claude-haiku-4-5', kind: 'overloaded', message: expect.stringContaining('claude-haiku-4-5 is overloaded'), at: expect.any(String) },
      { provider: 'anthropic', model: 'claude-sonnet-5', kind: 'overloaded', message: expect.stringContaining('claude-sonnet-5 is overloaded'), at: expect.any(String) },
    ]);
    // Priced at the model that answered.
    const usage = { inputTokens: step.inputTokens, outputTokens: step.outputTokens };
    expect(step.cost!.toFixed()).toBe(computeCost('openai:gpt-4o-mini', usage, step.calledAt!).cost!.replace(/0+$/, '').replace(/\.$/, ''));
    expect(step.warnings).toEqual([
      expect.stringMatching(/^anthropic:claude-haiku-4-5 failed \(overloaded: .*\); answered by openai:gpt-4o-mini$/),
      expect.stringMatching(/^anthropic:claude-sonnet-5 failed \(overloaded: .*\); answered by openai:gpt-4o-mini$/),
    ]);
    const warnings = (await readRunEvents(redis, config.REDIS_PREFIX, runId)).filter((event) => event.type === 'step.warning');
    expect(warnings.map((event) => event.data)).toEqual(step.warnings.map((message) => ({ index: 0, message })));
  });

  it('does not fall back on a permanent error: the step fails with the provider message and the attempt', async () => {
    const runId = await runOf({ model: 'claude-haiku-4-5', fallbackModels: ['gpt-4o-mini'] });
    emulator.script({ model: 'claude-haiku-4-5', status: 400, message: 'prompt is malformed' });
    const requestsBefore = emulator.requests.length;
    expect(await execute(runId)).toMatchObject({ status: 'failed', error: { code: 'provider_error', step: 0, message: expect.stringContaining('prompt is malformed') } });
    expect(emulator.requests.length - requestsBefore).toBe(1);
  });

  it("caches an agent's system prompt when it asks to, and the run shows what caching saved", async () => {
    const systemPrompt = 'You are a careful assistant who answers in one line. '.repeat(460);
    const cachedRun = async () => {
      const runId = await runOf({ model: 'claude-haiku-4-5', steps: 2, maxTokens: 20, systemPrompt, cacheSystemPrompt: true, maxCostUsd: '1' });
      expect(await execute(runId)).toMatchObject({ status: 'succeeded' });
      return serializeRun(await db.run.findUniqueOrThrow({ where: { id: runId }, include: runInclude }));
    };
    const run = await cachedRun();
    expect(emulator.requests.at(-1)!.body).toMatchObject({ system: [{ type: 'text', text: systemPrompt, cache_control: { type: 'ephemeral' } }] });
    // The first step writes the cache (dearer than input: a negative saving), the second reads it.
    const [write, read] = run.steps;
    expect(write!.usage.cacheWriteTokens).toBeGreaterThan(5000);
    expect(read!.usage.cacheReadTokens).toBe(write!.usage.cacheWriteTokens);
    expect(new Decimal(write!.cacheSavings!).isNegative()).toBe(true);
    expect(new Decimal(read!.cacheSavings!).isPositive()).toBe(true);
    // claude-haiku-4-5: a read saves $0.90 a million tokens over input, a write costs $0.25 more.
    const tokens = new Decimal(write!.usage.cacheWriteTokens);
    expect(new Decimal(read!.cacheSavings!).equals(tokens.times('0.90').dividedBy(1_000_000))).toBe(true);
    expect(new Decimal(run.cacheSavings!).equals(tokens.times('0.65').dividedBy(1_000_000))).toBe(true);
  });

  it('prices each call at the rates in force when it was made, and keeps that time on the step', async () => {
    // Claude Sonnet 5.5's cache reads went from $0.20 to $0.10 per million on 2026-10-07 (UTC).
    const costAt = async (iso: string) => {
      const runId = await runOf({ model: 'claude-sonnet-5-5' });
      emulator.script({ model: 'claude-sonnet-5-5', cacheReadTokens: 1_000_000 });
      const at = new Date(iso);
      expect(await execute(runId, deps(() => at))).toMatchObject({ status: 'succeeded' });
      const step = (await load(runId)).steps[0]!;
      expect(step.calledAt).toEqual(at);
      expect(step.cacheReadTokens).toBe(1_000_000);
      return { cost: step.cost!, expected: computeCost('claude-sonnet-5-5', { inputTokens: step.inputTokens, outputTokens: step.outputTokens, cacheReadTokens: 1_000_000 }, at).cost! };
    };
    const before = await costAt('2026-10-06T23:59:59.000Z');
    const after = await costAt('2026-10-07T00:00:01.000Z');
    expect(new Decimal(before.cost.toFixed()).equals(before.expected)).toBe(true);
    expect(new Decimal(after.cost.toFixed()).equals(after.expected)).toBe(true);
    expect(new Decimal(before.cost.toFixed()).minus(after.cost.toFixed()).toFixed()).toBe('0.1');
  });

  it("sends the step's usage and cost so far with its deltas while it streams, and keeps its time to first token", async () => {
    const streamed = async (model: string, provider: 'anthropic' | 'openai') => {
      const runId = await runOf({ model, input: 'tell me something long' });
      // 70 chunks at 20 a second: three and a half seconds of streaming, whatever the machine's speed, after 60 ms to the first byte.
      emulator.script({ model, reply: 'word '.repeat(70).trim(), tokensPerSecond: 20, latencyMs: 60 });
      expect(await execute(runId)).toMatchObject({ status: 'succeeded' });
      const step = (await load(runId)).steps[0]!;
      const deltas = (await readRunEvents(redis, config.REDIS_PREFIX, runId)).filter((event) => event.type === 'step.delta').map((event) => event.data as Record<string, unknown>);
      const live = deltas.filter((delta) => delta.usage !== undefined) as { usage: { inputTokens: number; outputTokens: number }; cost: string; estimated: boolean }[];
      expect(live.length).toBeGreaterThan(0);
      expect(live.length).toBeLessThan(deltas.length);
      for (const [i, delta] of live.entries()) {
        expect(delta.estimated).toBe(true);
        // Each figure is priced exactly as the step will be, at its own tokens.
        expect(delta.cost).toBe(computeCost(`${provider}:${model}`, delta.usage, step.calledAt!).cost);
        if (i > 0) expect(delta.usage.outputTokens).toBeGreaterThanOrEqual(live[i - 1]!.usage.outputTokens);
      }
      expect(live.at(-1)!.usage.outputTokens).toBeGreaterThan(live[0]!.usage.outputTokens);
      expect(step.firstTokenMs).toBeGreaterThanOrEqual(50);
      const events = await readRunEvents(redis, config.REDIS_PREFIX, runId);
      expect(events.find((event) => event.type === 'step.completed')!.data).toMatchObject({ timeToFirstTokenMs: step.firstTokenMs });
      expect(serializeRun(await db.run.findUniqueOrThrow({ where: { id: runId }, include: runInclude })).steps[0]!.timeToFirstTokenMs).toBe(step.firstTokenMs);
      return { step, live };
    };
    // Anthropic reports the input tokens as the answer starts: they are exact from the first figure on.
    const anthropic = await streamed('claude-haiku-4-5', 'anthropic');
    expect(anthropic.live.every((delta) => delta.usage.inputTokens === anthropic.step.inputTokens)).toBe(true);
    // OpenAI reports usage only at the end: the input is estimated from the prompt's characters.
    const openai = await streamed('gpt-4o-mini', 'openai');
    expect(openai.live[0]!.usage.inputTokens).toBe(Math.ceil('tell me something long'.length / 4));
    const local = parsePrometheusText(await metrics.registry.metrics());
    expect(sampleSum(local, 'conveyor_time_to_first_token_seconds_count', { provider: 'openai', model: 'gpt-4o-mini' })).toBeGreaterThanOrEqual(1);
    expect(sampleSum(local, 'conveyor_time_to_first_token_seconds_sum', { provider: 'anthropic', model: 'claude-haiku-4-5' })).toBeGreaterThanOrEqual(0.05);
  });
});
