import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '@conveyor/core';
import { createDatabase } from '@conveyor/core';
import { readRunEvents } from '@conveyor/core';
import { createLogger } from '@conveyor/core';
import { createRedis } from '@conveyor/core';
import { createRunsQueue, enqueueRun } from '@conveyor/core';
import { testConfig } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { createPipeline, createRun, waitFor, waitForRunStatus } from '../tests/harness.ts';
import { cancelChannel, queuePrefix, RUNS_QUEUE } from '@conveyor/core';
import { startWorkerProcess, type WorkerProcess } from './worker-process.ts';

describe('run worker', () => {
  let emulator: Emulator;
  let config: Config;
  let worker: WorkerProcess;
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  let queue: ReturnType<typeof createRunsQueue>;

  beforeAll(async () => {
    emulator = await startEmulator();
    config = testConfig({
      ...emulator.providerEnv(),
      PROVIDER_MAX_RETRIES: '0',
      RECONCILE_INTERVAL_SECONDS: '0',
    });
    queue = createRunsQueue(redis, config.REDIS_PREFIX);
    worker = await startWorkerProcess(config, createLogger({ level: 'silent' }));
  });

  beforeEach(() => emulator.reset());

  afterAll(async () => {
    await worker?.close(1000);
    await queue?.obliterate({ force: true }).catch(() => undefined);
    await queue?.close();
    redis.disconnect();
    await db.$disconnect();
    await emulator?.close();
  });

  const eventTypes = async (runId: string) => (await readRunEvents(redis, config.REDIS_PREFIX, runId)).map((event) => event.type);

  it('fails a run whose agent was deleted after submission with pipeline_orphaned, without retrying or calling a provider', async () => {
    const fixture = await createPipeline(db, [{ model: 'claude-sonnet-4-6' }, { model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'hello');
    await db.agent.delete({ where: { id: fixture.agentIds[1]! } });
    await enqueueRun(queue, { runId });

    const run = await waitForRunStatus(db, runId, ['failed']);
    expect(run.error).toMatchObject({ code: 'pipeline_orphaned', missingAgentIds: [fixture.agentIds[1]] });
    expect(emulator.requests).toHaveLength(0);
    const job = await waitFor(async () => ((await queue.getJobState(runId)) === 'failed' ? queue.getJob(runId) : undefined));
    expect(job!.attemptsMade).toBe(1);
    expect(await eventTypes(runId)).toEqual(['run.failed']);
  });

  it('resolves __default__ from settings when the step runs', async () => {
    const previous = await db.setting.findUnique({ where: { key: 'defaultModel' } });
    await db.setting.upsert({ where: { key: 'defaultModel' }, create: { key: 'defaultModel', value: 'gpt-4o' }, update: { value: 'gpt-4o' } });
    try {
      const fixture = await createPipeline(db, [{ model: '__default__' }]);
      const runId = await createRun(db, fixture, 'hi');
      await enqueueRun(queue, { runId });
      const run = await waitForRunStatus(db, runId, ['succeeded']);
      expect(run.steps[0]).toMatchObject({ provider: 'openai', model: 'gpt-4o' });
    } finally {
      if (previous) await db.setting.update({ where: { key: 'defaultModel' }, data: { value: previous.value as never } });
      else await db.setting.delete({ where: { key: 'defaultModel' } });
    }
  });

  it('cancels a run during a slow step: the call is aborted, the run ends canceled with no artifact', async () => {
    emulator.setDefaults({ latencyMs: 0, tokensPerSecond: 5 });
    const fixture = await createPipeline(db, [{ model: 'claude-sonnet-4-6' }, { model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'a long story '.repeat(40));
    await enqueueRun(queue, { runId });
    await waitFor(async () => (await eventTypes(runId)).includes('step.delta'), 10_000, 'the first delta');

    await db.run.update({ where: { id: runId }, data: { cancelRequested: true } });
    const requestedAt = Date.now();
    await redis.publish(cancelChannel(config.REDIS_PREFIX), runId);
    const run = await waitForRunStatus(db, runId, ['canceled'], 5000);
    expect(Date.now() - requestedAt).toBeLessThan(1000);
    expect(run.artifact).toBeNull();
    expect(run.steps.map((step) => step.status)).toEqual(['canceled', 'canceled']);
    expect(emulator.requests).toHaveLength(1);
    expect((await eventTypes(runId)).at(-1)).toBe('run.canceled');
  });

  it('ends a run that exceeds its maximum duration as failed with code timeout', async () => {
    emulator.setDefaults({ latencyMs: 5000 });
    const fixture = await createPipeline(db, [{ model: 'gpt-4o' }], { maxDurationSeconds: 1 });
    const runId = await createRun(db, fixture, 'slow');
    await enqueueRun(queue, { runId });
    const run = await waitForRunStatus(db, runId, ['failed'], 8000);
    expect(run.error).toMatchObject({ code: 'timeout', step: 0 });
    expect(run.artifact).toBeNull();
    expect((await eventTypes(runId)).at(-1)).toBe('run.failed');
  });

  it('expires a run that waited in the queue past its ttl without calling a provider', async () => {
    const fixture = await createPipeline(db, [{ model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'late', { ttlSeconds: 5, createdAt: new Date(Date.now() - 60_000) });
    await enqueueRun(queue, { runId });
    const run = await waitForRunStatus(db, runId, ['failed']);
    expect(run.error).toMatchObject({ code: 'expired' });
    expect(run.startedAt).toBeNull();
    expect(emulator.requests).toHaveLength(0);
  });

  it('starts a delayed run when it is due, not before', async () => {
    const fixture = await createPipeline(db, [{ model: 'gpt-4o' }]);
    const scheduledFor = new Date(Date.now() + 1500);
    const { runId } = await worker.engine.submit({ pipelineId: fixture.pipelineId, input: 'later', scheduledFor });
    expect(await queue.getJobState(runId)).toBe('delayed');
    const run = await waitForRunStatus(db, runId, ['succeeded']);
    expect(run.startedAt!.getTime()).toBeGreaterThanOrEqual(scheduledFor.getTime());
  });

  it('fails the run with a provider_error naming the step, provider and message on a permanent provider error', async () => {
    emulator.script({ provider: 'openai', status: 401, message: 'Incorrect API key provided' });
    const fixture = await createPipeline(db, [{ model: 'claude-sonnet-4-6' }, { model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'x');
    await enqueueRun(queue, { runId });
    const run = await waitForRunStatus(db, runId, ['failed']);
    expect(run.error).toMatchObject({ code: 'provider_error', step: 1 });
    const message = (run.error as { message: string }).message;
    expect(message).toContain('step 2');
    expect(message).toContain('openai');
    expect(message).toContain('Incorrect API key provided');
    expect(run.steps.map((step) => step.status)).toEqual(['succeeded', 'failed']);
  });

  it('resumes a run at its first unfinished step: finished steps are not called again', async () => {
    const fixture = await createPipeline(db, [{ model: 'claude-sonnet-4-6' }, { model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'x');
    await db.run.update({ where: { id: runId }, data: { status: 'running', startedAt: new Date() } });
    await db.runStep.update({
      where: { runId_index: { runId, index: 0 } },
      data: { status: 'succeeded', output: 'FIRST STEP OUTPUT', provider: 'anthropic', model: 'claude-sonnet-4-6', inputTokens: 3, outputTokens: 4, cost: '0.000069' },
    });
    await enqueueRun(queue, { runId });
    const run = await waitForRunStatus(db, runId, ['succeeded']);
    expect(emulator.requests.map((request) => request.provider)).toEqual(['openai']);
    expect(JSON.stringify(emulator.requests[0]!.body.messages)).toContain('FIRST STEP OUTPUT');
    expect(await db.artifact.count({ where: { runId } })).toBe(1);
    expect(run.inputTokens).toBe(3 + run.steps[1]!.inputTokens);
  });

  it('closes once however often close() is called, even concurrently', async () => {
    const other = await startWorkerProcess(config, createLogger({ level: 'silent' }));
    await expect(Promise.all([other.close(500), other.close(500)])).resolves.toBeDefined();
    await expect(other.close(500)).resolves.toBeUndefined();
    await expect(other.runWorker.close()).resolves.toBeUndefined();
    await expect(other.engine.close()).resolves.toBeUndefined();
  });

  it('fails the run (internal_error) when BullMQ gives its job up for stalling too often, instead of leaving it running', async () => {
    const fixture = await createPipeline(db, [{ model: 'gpt-4o' }]);
    const runId = await createRun(db, fixture, 'stalls');
    // Delayed, so that the job can be marked before a worker takes it: BullMQ's own mark for a job
    // that stalled past maxStalledCount, which makes the next worker fail it without running it.
    await enqueueRun(queue, { runId }, { delay: 1500 });
    await redis.hset(`${queuePrefix(config.REDIS_PREFIX)}:${RUNS_QUEUE}:${runId}`, 'defa', 'job stalled more than allowable limit');

    const run = await waitForRunStatus(db, runId, ['failed']);
    expect(run.error).toMatchObject({ code: 'internal_error', message: expect.stringContaining('stalled more than allowable limit') });
    expect(emulator.requests).toHaveLength(0);
    expect(await eventTypes(runId)).toEqual(['run.failed']);
  });
});
