import { randomUUID } from 'node:crypto';
import { createTestApi, type TestApi } from '@conveyor/api/test-support';
import { parsePrometheusText, sampleSum, type Sample } from '@conveyor/core';
import { testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, stopWorker, waitForRunStatus, workerEnv, type WorkerHandle } from './harness.ts';
import { freePort } from '@conveyor/core';


async function scrape(fetchMetrics: () => Response | Promise<Response>): Promise<Sample[]> {
  const response = await fetchMetrics();
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return parsePrometheusText(await response.text());
}

describe('operations: correlated logs and metrics for one run through the API and a worker process', () => {
  const prefix = testPrefix('obs');
  const requestId = `req-${randomUUID()}`;
  let emulator: Emulator;
  let api: TestApi;
  let worker: WorkerHandle;
  let workerMetricsUrl: string;
  let before: Sample[];
  let runId: string;

  beforeAll(async () => {
    emulator = await startEmulator({ tokensPerSecond: 500 });
    api = createTestApi({
      REDIS_PREFIX: prefix,
      ...emulator.providerEnv(),
    });
    const port = await freePort();
    workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
    worker = await spawnWorker(workerEnv(prefix, emulator, { LOG_LEVEL: 'debug', WORKER_METRICS_PORT: String(port), HOST: '127.0.0.1', RECONCILE_INTERVAL_SECONDS: '0' }));
    before = await scrape(() => fetch(workerMetricsUrl));

    const created = async (response: Response) => ((await response.json()) as { id: string }).id;
    const writer = await created(await api.call('POST', '/v1/agents', { name: 'writer', model: 'claude-sonnet-4-5' }));
    const editor = await created(await api.call('POST', '/v1/agents', { name: 'editor', model: 'gpt-4o' }));
    const pipeline = await created(await api.call('POST', '/v1/pipelines', { name: 'observed', steps: [{ agentId: writer }, { agentId: editor }] }));
    const submitted = await api.call('POST', `/v1/pipelines/${pipeline}/runs`, { input: 'tide tables' }, { 'x-request-id': requestId });
    expect(submitted.status).toBe(202);
    expect(submitted.headers.get('x-request-id')).toBe(requestId);
    runId = await created(submitted);
    await waitForRunStatus(api.deps.db, runId, ['succeeded'], 30_000);
  });

  afterAll(async () => {
    await stopWorker(worker);
    await api?.close();
    await emulator?.close();
  });

  it('carries the request id from the API log line, through the run and its job, to the worker log lines of that run', async () => {
    const apiLines = api
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(apiLines.some((line) => line.requestId === requestId && line.method === 'POST')).toBe(true);

    const run = await api.deps.db.run.findUniqueOrThrow({ where: { id: runId } });
    expect(run.requestId).toBe(requestId);

    const runLines = worker.logs.filter((line) => line.runId === runId);
    expect(runLines.length).toBeGreaterThan(0);
    for (const line of runLines) expect(line.requestId, JSON.stringify(line)).toBe(requestId);
    expect(runLines.some((line) => line.msg === 'run ended' && line.status === 'succeeded')).toBe(true);

    const stepLines = runLines.filter((line) => line.step !== undefined);
    expect(stepLines).toContainEqual(expect.objectContaining({ step: 0, provider: 'anthropic', model: 'claude-sonnet-4-5', requestId }));
    expect(stepLines).toContainEqual(expect.objectContaining({ step: 1, provider: 'openai', model: 'gpt-4o', requestId }));
  });

  it("moves the worker's run, step, provider, token and cost counters when the run completes", async () => {
    const after = await waitForSample(workerMetricsUrl, 'conveyor_runs_finished_total', { status: 'succeeded' }, sampleSum(before, 'conveyor_runs_finished_total', { status: 'succeeded' }) + 1);
    const delta = (name: string, labels: Record<string, string> = {}) => sampleSum(after, name, labels) - sampleSum(before, name, labels);

    expect(delta('conveyor_runs_finished_total', { status: 'succeeded' })).toBe(1);
    expect(delta('conveyor_run_duration_seconds_count', { status: 'succeeded' })).toBe(1);
    expect(delta('conveyor_step_duration_seconds_count', { provider: 'anthropic', model: 'claude-sonnet-4-5', status: 'succeeded' })).toBe(1);
    expect(delta('conveyor_step_duration_seconds_count', { provider: 'openai', model: 'gpt-4o', status: 'succeeded' })).toBe(1);
    expect(delta('conveyor_provider_call_duration_seconds_count', { provider: 'anthropic', outcome: 'ok' })).toBe(1);
    expect(delta('conveyor_provider_call_duration_seconds_count', { provider: 'openai', outcome: 'ok' })).toBe(1);
    expect(delta('conveyor_provider_errors_total')).toBe(0);

    const run = await api.deps.db.run.findUniqueOrThrow({ where: { id: runId } });
    expect(delta('conveyor_tokens_total', { type: 'input' }) + delta('conveyor_tokens_total', { type: 'output' })).toBe(run.inputTokens + run.outputTokens);
    expect(delta('conveyor_cost_usd_total')).toBeCloseTo(Number(run.cost), 9);
    expect(delta('conveyor_cost_usd_total', { model: 'gpt-4o' })).toBeGreaterThan(0);
  });

  it('serves queue depth and the SSE subscriber gauge from the API as Prometheus text', async () => {
    const samples = await scrape(() => api.app.request('/metrics'));
    expect(sampleSum(samples, 'conveyor_queue_jobs', { queue: 'runs', state: 'completed' })).toBeGreaterThanOrEqual(1);
    expect(samples.some((sample) => sample.name === 'conveyor_queue_jobs' && sample.labels.queue === 'webhooks')).toBe(true);
    expect(samples.some((sample) => sample.name === 'conveyor_sse_subscribers')).toBe(true);
  });
});

/** The run ends in Postgres just before the worker records it: poll the scrape until the counter arrives. */
async function waitForSample(url: string, name: string, labels: Record<string, string>, atLeast: number): Promise<Sample[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const samples = parsePrometheusText(await (await fetch(url)).text());
    if (sampleSum(samples, name, labels) >= atLeast || Date.now() > deadline) return samples;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
