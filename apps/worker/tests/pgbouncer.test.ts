import { hasPgbouncer, startPgbouncer, testPrefix, type TestPgbouncer } from '@conveyor/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readSse, waitFor, waitForRunStatus } from './harness.ts';
import { type InfrastructureStack, serverInstalled, startInfrastructureStack, twoStepRunSucceeded, writerEditorPipeline } from './infrastructure-stack.ts';

const json = async (response: Response): Promise<any> => response.json();

describe.runIf(serverInstalled(hasPgbouncer(), 'pgbouncer', 'the PgBouncer test'))('through PgBouncer in transaction pooling', () => {
  const prefix = testPrefix('pgbouncer');
  let pgbouncer: TestPgbouncer;
  let stack: InfrastructureStack;

  beforeAll(async () => {
    // Two server connections for the API's and the worker's fifteen clients: every statement
    // may land on a server connection another client used last.
    pgbouncer = await startPgbouncer(process.env.DATABASE_URL!, { serverConnections: 2 });
    stack = await startInfrastructureStack(prefix, { DATABASE_URL: pgbouncer.urlFor(process.env.DATABASE_URL!), DATABASE_TRANSACTION_POOLER: 'true' });
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    await pgbouncer?.close();
  });

  it('runs pipelines end to end, API and worker both on the pooler: events, artifacts, costs and the webhook', async () => {
    const { api, receiver } = stack;
    const pipelineId = await writerEditorPipeline(api, 'pooled');
    const submit = (input: string, headers: Record<string, string> = {}) =>
      api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input, webhookUrl: receiver.url }, headers);

    const submitted = await Promise.all(['one', 'two', 'three', 'four', 'five'].map(async (input) => {
      const response = await submit(input, { 'idempotency-key': `pooled-${input}` });
      expect(response.status, await response.clone().text()).toBe(202);
      return (await json(response)).id as string;
    }));
    // The same idempotency key answers with the same run, whichever server connection reads it.
    expect((await json(await submit('one', { 'idempotency-key': 'pooled-one' }))).id).toBe(submitted[0]);

    const events = await readSse(await api.call('GET', `/v1/runs/${submitted[0]}/events`));
    expect(events.map((event) => event.event).filter((type) => type !== 'step.delta')).toEqual(twoStepRunSucceeded);
    for (const runId of submitted) await waitForRunStatus(api.deps.db, runId, ['succeeded'], 30_000);

    const runs = await Promise.all(submitted.map(async (runId) => json(await api.call('GET', `/v1/runs/${runId}`))));
    for (const run of runs) {
      expect(run.artifactId).toBeTruthy();
      expect(Number(run.cost)).toBeGreaterThan(0);
    }
    await waitFor(async () => submitted.every((runId) => receiver.received.some((hook) => JSON.parse(hook.body).data?.id === runId)), 20_000, 'every webhook');
    const day = 86_400_000;
    const spend = await api.call('GET', `/v1/spend?from=${new Date(Date.now() - day).toISOString()}&to=${new Date(Date.now() + day).toISOString()}&groupBy=model`);
    expect(spend.status, await spend.clone().text()).toBe(200);
    expect((await json(spend)).groups.map((group: { model: string }) => group.model).sort()).toEqual(['claude-sonnet-4-6', 'gpt-4o']);
    expect(pgbouncer.output()).not.toMatch(/prepared statement/i);
  });
});
