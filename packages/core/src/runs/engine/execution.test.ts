import { type Emulator, startEmulator } from '@conveyor/llm-emulator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../config.ts';
import { createDatabase, sqlPool } from '../../db/client.ts';
import { RunEventPublisher } from '../../events/publish.ts';
import { newId } from '../../ids.ts';
import { createLogger } from '../../logger.ts';
import { createRedis } from '../../queue/connection.ts';
import { testConfig, testExecutionDeps } from '../../../testkit/index.ts';
import { readRunEvents } from '../../events/replay.ts';
import { executeRun } from './execution.ts';
import { type RunState, RunStore, type StepRecord, type StepStart } from './store.ts';

/** A run store whose step records reach Postgres at once but answer only when `release()` is called. */
class HeldRecords extends RunStore {
  readonly issued: number[] = [];
  release!: () => void;
  readonly #held = new Promise<void>((resolve) => (this.release = resolve));

  override async recordStep(runId: string, step: StepRecord, next: StepStart | undefined): Promise<RunState | undefined> {
    this.issued.push(step.index);
    const state = await super.recordStep(runId, step, next);
    await this.#held;
    return state;
  }
}

describe('executeRun', () => {
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  const logger = createLogger({ level: 'silent' });
  let emulator: Emulator;
  let config: Config;

  beforeAll(async () => {
    emulator = await startEmulator();
    config = testConfig({ ...emulator.providerEnv(), PROVIDER_MAX_RETRIES: '0' });
  });

  afterAll(async () => {
    redis.disconnect();
    await db.$disconnect();
    await emulator?.close();
  });

  const deps = (store: RunStore, providerConfig = config) => testExecutionDeps({ db, redis, config, logger, store, providerConfig });

  async function twoStepRun(firstPrompt = '{{input}}') {
    const agent = await db.agent.create({ data: { id: newId('agt'), name: 'writer', model: 'claude-haiku-4-5' } });
    const pipeline = await db.pipeline.create({
      data: {
        id: newId('pip'),
        name: 'execute test',
        steps: { create: [{ index: 0, agentId: agent.id, prompt: firstPrompt }, { index: 1, agentId: agent.id }] },
      },
    });
    const run = await db.run.create({
      data: { id: newId('run'), pipelineId: pipeline.id, input: 'hello', steps: { create: [0, 1].map((index) => ({ index, agentId: agent.id })) } },
    });
    return run.id;
  }

  const events = (runId: string) => new RunEventPublisher(redis, config.REDIS_PREFIX, logger).forRun(runId);

  it("starts the next step's call without waiting for the previous step's record, and completes once it is written", async () => {
    const store = new HeldRecords(sqlPool(db));
    const runId = await twoStepRun();
    const requestsBefore = emulator.requests.length;

    const outcome = executeRun(deps(store), runId, events(runId), new AbortController().signal);
    const deadline = Date.now() + 10_000;
    while (emulator.requests.length < requestsBefore + 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // Step 1 was called while step 0's record had not answered yet.
    expect(emulator.requests.length - requestsBefore).toBe(2);
    expect(store.issued).toEqual([0]);
    store.release();

    expect(await outcome).toMatchObject({ status: 'succeeded' });
    const run = await db.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: { orderBy: { index: 'asc' } }, artifact: true } });
    expect(run.status).toBe('succeeded');
    expect(run.steps.map((step) => step.status)).toEqual(['succeeded', 'succeeded']);
    expect(run.steps[1]!.startedAt!.getTime()).toBe(run.steps[0]!.finishedAt!.getTime());
    expect(run.artifact).not.toBeNull();
  });

  it('keeps what a canceled step had streamed as its output', async () => {
    const runId = await twoStepRun();
    const reply = Array.from({ length: 200 }, (_, i) => `word${i}`).join(' ');
    emulator.script({ provider: 'anthropic', reply, tokensPerSecond: 50 });
    const stream = events(runId);
    const cancel = new AbortController();

    const outcome = executeRun(deps(new RunStore(sqlPool(db))), runId, stream, cancel.signal);
    await expect.poll(() => stream.streamedText(0)?.length ?? 0, { timeout: 20_000 }).toBeGreaterThan(20);
    await db.run.update({ where: { id: runId }, data: { cancelRequested: true } });
    cancel.abort('canceled');

    expect(await outcome).toMatchObject({ status: 'canceled' });
    const run = await db.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: { orderBy: { index: 'asc' } } } });
    expect(run.steps.map((step) => step.status)).toEqual(['canceled', 'canceled']);
    const partial = run.steps[0]!.output!;
    expect(partial.length).toBeGreaterThan(20);
    expect(partial.length).toBeLessThan(reply.length);
    expect(reply.startsWith(partial)).toBe(true);
    expect(run.steps[1]!.output).toBeNull();
  });

  it('ends the run canceled, with no artifact, when the step record finds a cancel request the abort signal never brought', async () => {
    const store = new RunStore(sqlPool(db));
    const runId = await twoStepRun('{{input}} [[emulator:latency=400]]');
    const outcome = executeRun(deps(store), runId, events(runId), new AbortController().signal);
    await new Promise((resolve) => setTimeout(resolve, 150));
    await db.run.update({ where: { id: runId }, data: { cancelRequested: true } });

    expect(await outcome).toMatchObject({ status: 'canceled' });
    const run = await db.run.findUniqueOrThrow({ where: { id: runId }, include: { steps: { orderBy: { index: 'asc' } }, artifact: true } });
    expect(run.status).toBe('canceled');
    expect(run.steps[0]!.status).toBe('succeeded');
    expect(run.artifact).toBeNull();
  });

  it('tells clients to discard a step\'s streamed text with step.retry when its call is retried after a dropped stream', async () => {
    const store = new RunStore(sqlPool(db));
    const runId = await twoStepRun();
    // Paced, so the first chunks reach the client before the connection drops.
    emulator.script({ provider: 'anthropic', dropAfterChunks: 3, tokensPerSecond: 40, reply: 'one two three four five six' });

    const outcome = await executeRun(deps(store, testConfig({ ...emulator.providerEnv(), PROVIDER_MAX_RETRIES: '2', REDIS_PREFIX: config.REDIS_PREFIX })), runId, events(runId), new AbortController().signal);
    expect(outcome).toMatchObject({ status: 'succeeded' });

    const stream = await readRunEvents(redis, config.REDIS_PREFIX, runId);
    const step0 = stream.filter((event) => 'index' in event.data && event.data.index === 0);
    const retryAt = step0.findIndex((event) => event.type === 'step.retry');
    expect(retryAt).toBeGreaterThan(0);
    expect(stream[stream.indexOf(step0[retryAt]!)]!.data).toMatchObject({ index: 0, attempt: 1 });
    const text = (events: typeof step0) => events.filter((event) => event.type === 'step.delta').map((event) => (event.data as { text: string }).text).join('');
    // Text before the retry is a prefix that clients drop; the text after it is the whole answer.
    expect(text(step0.slice(0, retryAt)).length).toBeGreaterThan(0);
    const completed = step0.find((event) => event.type === 'step.completed')!.data as { output: string };
    expect(text(step0.slice(retryAt))).toBe(completed.output);
  });

  it('resumes a run with the pipeline and agents as they were when it started, whatever was edited since', async () => {
    const store = new RunStore(sqlPool(db));
    const agent = await db.agent.create({ data: { id: newId('agt'), name: 'writer', model: 'claude-haiku-4-5', systemPrompt: 'Old system.' } });
    const pipeline = await db.pipeline.create({
      data: {
        id: newId('pip'),
        name: 'snapshot test',
        steps: { create: [{ index: 0, agentId: agent.id }, { index: 1, agentId: agent.id, prompt: 'old prompt: {{previous}} [[emulator:latency=5000]]' }] },
      },
    });
    const runId = (await db.run.create({
      data: { id: newId('run'), pipelineId: pipeline.id, input: 'hello', steps: { create: [0, 1].map((index) => ({ index, agentId: agent.id })) } },
    })).id;

    // The worker holding the run shuts down during step 1's call...
    const shutdown = new AbortController();
    const first = executeRun(deps(store), runId, events(runId), shutdown.signal);
    const requestsBefore = emulator.requests.length;
    while (!emulator.requests.slice(requestsBefore).some((request) => JSON.stringify(request.body).includes('old prompt'))) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    shutdown.abort('shutdown');
    await expect(first).rejects.toMatchObject({ name: 'RunInterruptedError' });

    // ...the pipeline and the agent are edited, and another worker resumes the run.
    await db.pipelineStep.update({ where: { pipelineId_index: { pipelineId: pipeline.id, index: 1 } }, data: { prompt: 'new prompt: {{previous}}' } });
    await db.agent.update({ where: { id: agent.id }, data: { systemPrompt: 'New system.', model: 'gpt-4o' } });
    emulator.script({ provider: 'anthropic', latencyMs: 0 });
    expect(await executeRun(deps(store), runId, events(runId), new AbortController().signal)).toMatchObject({ status: 'succeeded' });

    const resumed = emulator.requests.at(-1)!;
    expect(resumed.provider).toBe('anthropic');
    expect(JSON.stringify(resumed.body)).toContain('old prompt');
    expect(JSON.stringify(resumed.body)).toContain('Old system.');
    expect(JSON.stringify(resumed.body)).not.toContain('New system.');
  });

  it('stores an answer holding U+0000 or a lone surrogate once, with U+FFFD in their place and a warning, never asking again', async () => {
    const store = new RunStore(sqlPool(db));
    const runId = await twoStepRun();
    emulator.script({ provider: 'anthropic', reply: 'null \u0000 and lone \ud800 here' });
    const requestsBefore = emulator.requests.length;

    expect(await executeRun(deps(store), runId, events(runId), new AbortController().signal)).toMatchObject({ status: 'succeeded' });

    const step = await db.runStep.findUniqueOrThrow({ where: { runId_index: { runId, index: 0 } } });
    expect(step.output).toBe('null \uFFFD and lone \uFFFD here');
    expect(step.warnings).toEqual([expect.stringContaining('U+FFFD')]);
    expect(emulator.requests.length - requestsBefore).toBe(2);
  });
});
