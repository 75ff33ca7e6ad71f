import { randomBytes } from 'node:crypto';
import { createTestApi, type TestApi } from '@conveyor/api/test-support';
import { startTracing, stopTracing, tracingEnabled } from '@conveyor/core';
import { startOtlpReceiver, startTestReceiver, testPrefix, type ReceivedSpan, type TestOtlpReceiver, type TestReceiver } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnWorker, stopWorker, waitFor, waitForRunStatus, workerEnv, type WorkerHandle } from './harness.ts';

const json = async (response: Response): Promise<any> => response.json();
const SERVER = 2;
const CLIENT = 3;
const CONSUMER = 5;

describe('OpenTelemetry: one trace per run, from the submitting request through the worker to the webhook', () => {
  const prefix = testPrefix('otel');
  let otlp: TestOtlpReceiver;
  let emulator: Emulator;
  let receiver: TestReceiver;
  let api: TestApi;
  let worker: WorkerHandle;

  beforeAll(async () => {
    otlp = await startOtlpReceiver();
    const otelEnv = { OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_BSP_SCHEDULE_DELAY: '50' };
    Object.assign(process.env, otelEnv);
    expect(await startTracing('conveyor-api')).toBe(true);
    emulator = await startEmulator({ tokensPerSecond: 400 });
    receiver = await startTestReceiver();
    api = createTestApi({ REDIS_PREFIX: prefix, ...emulator.providerEnv() });
    worker = await spawnWorker(workerEnv(prefix, emulator, { ...otelEnv, WEBHOOK_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'debug' }));
  }, 60_000);

  afterAll(async () => {
    await stopWorker(worker);
    await api?.close();
    await stopTracing();
    await receiver?.close();
    await emulator?.close();
    await otlp?.close();
  });

  it('continues the caller traceparent, returns its own, and puts the run, its steps, model calls (gen_ai.*) and webhook in that trace; log lines carry the trace id', async () => {
    const writer = await json(await api.call('POST', '/v1/agents', { name: 'writer', model: 'claude-sonnet-4-6' }));
    const editor = await json(await api.call('POST', '/v1/agents', { name: 'editor', model: 'gpt-4o' }));
    const pipeline = await json(await api.call('POST', '/v1/pipelines', { name: 'traced', steps: [{ agentId: writer.id }, { agentId: editor.id }] }));

    const traceId = randomBytes(16).toString('hex');
    const callerSpanId = randomBytes(8).toString('hex');
    const submitted = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'night ferries', webhookUrl: receiver.url }, { traceparent: `00-${traceId}-${callerSpanId}-01` });
    expect(submitted.status).toBe(202);
    const returned = submitted.headers.get('traceparent');
    expect(returned).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const requestSpanId = returned!.split('-')[2]!;
    const runId = (await json(submitted)).id as string;

    await waitForRunStatus(api.deps.db, runId, ['succeeded'], 30_000);
    await waitFor(async () => receiver.received.some((hook) => JSON.parse(hook.body).data?.id === runId), 20_000, 'the webhook');
    const inTrace = () => otlp.spans.filter((span) => span.traceId === traceId);
    const spans = await waitFor(async () => {
      const now = inTrace();
      return now.filter((span) => span.name.startsWith('chat ')).length === 2 && now.some((span) => span.name.startsWith('webhook ')) && now;
    }, 20_000, 'the spans of the run');

    const one = (predicate: (span: ReceivedSpan) => boolean, what: string) => {
      const found = spans.filter(predicate);
      expect(found.length, `${what}: ${JSON.stringify(spans.map((s) => s.name))}`).toBe(1);
      return found[0]!;
    };
    const request = one((span) => span.spanId === requestSpanId, 'the request span');
    expect(request).toMatchObject({ kind: SERVER, parentSpanId: callerSpanId, service: 'conveyor-api', name: 'POST /v1/pipelines/:id/runs' });
    expect(request.attributes['http.response.status_code']).toBe(202);

    const run = one((span) => span.name === 'run', 'the run span');
    expect(run).toMatchObject({ kind: CONSUMER, parentSpanId: request.spanId, service: 'conveyor-worker' });
    expect(run.attributes['conveyor.run.id']).toBe(runId);

    const steps = spans.filter((span) => span.name.startsWith('step '));
    expect(steps.map((span) => span.name).sort()).toEqual(['step 1', 'step 2']);
    for (const step of steps) expect(step.parentSpanId).toBe(run.spanId);

    const calls = spans.filter((span) => span.name.startsWith('chat '));
    // The model call is one span, ours: the SDKs add none of their own beside it, and the trace stays
    // inside: no trace context goes to a provider.
    expect(spans.filter((span) => span.parentSpanId !== undefined && calls.some((call) => call.spanId === span.parentSpanId)).map((span) => span.name)).toEqual([]);
    const providerRequests = emulator.requests.filter((request) => request.body.messages !== undefined);
    expect(providerRequests.map((request) => request.provider).sort()).toEqual(['anthropic', 'openai']);
    for (const request of providerRequests) expect(request.headerNames.filter((name) => ['traceparent', 'tracestate', 'baggage'].includes(name))).toEqual([]);
    expect(calls.map((call) => [call.attributes['gen_ai.system'], call.attributes['gen_ai.request.model']]).sort()).toEqual([
      ['anthropic', 'claude-sonnet-4-6'],
      ['openai', 'gpt-4o'],
    ]);
    for (const call of calls) {
      expect(call.kind).toBe(CLIENT);
      expect(steps.map((step) => step.spanId)).toContain(call.parentSpanId);
      expect(call.attributes['gen_ai.operation.name']).toBe('chat');
      expect(call.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
      expect(call.attributes['gen_ai.usage.output_tokens']).toBeGreaterThan(0);
    }

    const webhook = one((span) => span.name === 'webhook run.succeeded', 'the webhook span');
    expect(webhook).toMatchObject({ kind: CLIENT, service: 'conveyor-worker' });
    expect(webhook.attributes['conveyor.run.id']).toBe(runId);
    expect(otlp.contentTypes.every((type) => type.startsWith('application/json'))).toBe(true);

    const runLines = worker.logs.filter((line) => line.runId === runId && line.msg === 'run ended');
    expect(runLines.length).toBe(1);
    expect(runLines[0]!.traceId).toBe(traceId);
    const apiLine = api.logs().split('\n').filter(Boolean).map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.traceId === traceId);
    expect(apiLine).toBeDefined();
  });

  it('keeps a run that waits for approval in one trace: the resumed attempt links to the request that approved it', async () => {
    const writer = await json(await api.call('POST', '/v1/agents', { name: 'drafter', model: 'claude-sonnet-4-6' }));
    const pipeline = await json(
      await api.call('POST', '/v1/pipelines', { name: 'traced approval', steps: [{ agentId: writer.id }, { type: 'approval' }, { agentId: writer.id }] }),
    );
    const traceId = randomBytes(16).toString('hex');
    const submitted = await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'a draft' }, { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` });
    const runId = (await json(submitted)).id as string;
    await waitForRunStatus(api.deps.db, runId, ['waiting'], 30_000);

    const approverTraceId = randomBytes(16).toString('hex');
    const approved = await api.call('POST', `/v1/runs/${runId}/approve`, {}, { traceparent: `00-${approverTraceId}-${randomBytes(8).toString('hex')}-01` });
    expect(approved.status).toBe(200);
    const approveSpanId = approved.headers.get('traceparent')!.split('-')[2]!;
    await waitForRunStatus(api.deps.db, runId, ['succeeded'], 30_000);

    const runs = await waitFor(async () => {
      const found = otlp.spans.filter((span) => span.traceId === traceId && span.name === 'run');
      return found.length === 2 && found;
    }, 20_000, 'both attempts of the run');
    const [first, resumed] = [runs.find((span) => span.links.length === 0), runs.find((span) => span.links.length === 1)];
    expect(first, 'the attempt that reached the approval step').toBeDefined();
    expect(resumed!.links[0]).toMatchObject({ traceId: approverTraceId, spanId: approveSpanId, attributes: { 'conveyor.link': 'resumed_by' } });
    expect(resumed!.parentSpanId).toBe(first!.parentSpanId);
    const steps = await waitFor(async () => {
      const found = otlp.spans.filter((span) => span.traceId === traceId && span.name.startsWith('step '));
      return found.length === 2 && found;
    }, 20_000, 'the spans of both agent steps');
    expect(steps.map((step) => [step.name, step.parentSpanId]).sort()).toEqual([
      ['step 1', first!.spanId],
      ['step 3', resumed!.spanId],
    ]);
  });

  it('starts a new trace for a request without traceparent, and is off in a process without an OTLP endpoint', async () => {
    const response = await api.call('GET', '/v1/pipelines');
    expect(response.headers.get('traceparent')).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(tracingEnabled()).toBe(true);
    await stopTracing();
    expect(tracingEnabled()).toBe(false);
    expect(await startTracing('conveyor-api', { env: {} })).toBe(false);
    const untraced = await api.call('GET', '/v1/pipelines');
    expect(untraced.headers.get('traceparent')).toBeNull();
  });
});
