import { createDatabase, createLogger, createRedis, createRunsQueue, registry, RunEngine, type Config } from '@conveyor/core';
import { testConfig } from '@conveyor/core/testing';
import { createWebhooksQueue, enqueueRunEndWebhook, type WebhookJobData } from '@conveyor/core';
import { runEndEvent } from '@conveyor/core';
import {
  closedPort,
  createEndedRun,
  deleteRuns,
  type EndedRunOptions,
  startTestReceiver,
  type TestReceiver,
} from '@conveyor/core/testing';
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebhookWorker } from './webhook-worker.ts';

const secret = 'whsec_' + Buffer.from('conveyor webhook worker test secret').toString('base64');
const config: Config = testConfig({
  WEBHOOK_SECRET: secret,
  WEBHOOK_RETRY_SCHEDULE: '0.05,0.05',
  WEBHOOK_TIMEOUT_SECONDS: '2',
  WEBHOOK_ALLOW_PRIVATE: 'true',
});
const logger = createLogger({ level: 'silent' });
const db = createDatabase(config.DATABASE_URL, { max: 4 });
const connections: Redis[] = [];
const created: Array<{ runId: string; pipelineId: string }> = [];
let queue: Queue<WebhookJobData>;
let worker: Worker<WebhookJobData>;
let receiver: TestReceiver;

function connect(): Redis {
  const redis = createRedis(config.REDIS_URL);
  connections.push(redis);
  return redis;
}

/** A second "process": its own connection and queue object on the same Redis prefix. */
function otherProcessQueue(): Queue<WebhookJobData> {
  return createWebhooksQueue(connect(), config);
}

async function endedRun(options: EndedRunOptions = {}) {
  const run = await createEndedRun(db, { webhookUrl: receiver.url, ...options });
  created.push(run);
  return { ...run, eventId: runEndEvent(run.runId, options.status ?? 'succeeded').id };
}

const attemptsOf = (runId: string) => db.webhookDelivery.findMany({ where: { runId }, orderBy: { attempt: 'asc' } });

async function until<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const jobFinished = (q: Queue<WebhookJobData>, jobId: string, state: 'completed' | 'failed') =>
  until(async () => (await q.getJobState(jobId)) === state, `job ${jobId} ${state}`);

beforeAll(async () => {
  receiver = await startTestReceiver();
  queue = createWebhooksQueue(connect(), config);
  worker = createWebhookWorker({ config, db, connection: connect(), logger });
  await worker.waitUntilReady();
});

afterAll(async () => {
  await worker?.close();
  await queue?.obliterate({ force: true });
  await queue?.close();
  await receiver?.close();
  connections.forEach((redis) => redis.disconnect());
  await deleteRuns(db, created);
  await db.$disconnect();
});

describe('webhook delivery through the queue', () => {
  it('retries a receiver that fails twice, succeeds on the third attempt and leaves the run as it was', async () => {
    receiver.reply(500, 503);
    const { runId, eventId } = await endedRun();
    const runBefore = await db.run.findUniqueOrThrow({ where: { id: runId } });
    const before = receiver.received.length;

    expect(await enqueueRunEndWebhook({ db, webhooksQueue: queue }, runId)).toBe(true);
    await jobFinished(queue, eventId, 'completed');

    const attempts = await attemptsOf(runId);
    expect(attempts.map(({ attempt, outcome, statusCode }) => ({ attempt, outcome, statusCode }))).toEqual([
      { attempt: 1, outcome: 'failed', statusCode: 500 },
      { attempt: 2, outcome: 'failed', statusCode: 503 },
      { attempt: 3, outcome: 'succeeded', statusCode: 200 },
    ]);
    const requests = receiver.received.slice(before);
    expect(requests).toHaveLength(3);
    for (const request of requests) {
      expect(request.headers['webhook-id']).toBe(eventId);
      expect(new Webhook(secret).verify(request.body, request.headers)).toMatchObject({ type: 'run.succeeded', data: { id: runId } });
    }
    const runAfter = await db.run.findUniqueOrThrow({ where: { id: runId } });
    expect(runAfter.status).toBe('succeeded');
    expect(runAfter.updatedAt).toEqual(runBefore.updatedAt);
  });

  it('stops retrying after 410 Gone', async () => {
    receiver.reply(410);
    const { runId, eventId } = await endedRun({ status: 'failed' });
    const before = receiver.received.length;

    await enqueueRunEndWebhook({ db, webhooksQueue: queue }, runId);
    await jobFinished(queue, eventId, 'failed');

    expect(await attemptsOf(runId)).toMatchObject([{ attempt: 1, outcome: 'stopped', statusCode: 410 }]);
    expect(receiver.received.length).toBe(before + 1);
  });

  it('retries an unreachable receiver on the schedule, then gives up with every attempt recorded', async () => {
    const { runId, eventId } = await endedRun({ webhookUrl: `http://127.0.0.1:${await closedPort()}/hook` });

    await enqueueRunEndWebhook({ db, webhooksQueue: queue }, runId);
    await jobFinished(queue, eventId, 'failed');

    const attempts = await attemptsOf(runId);
    expect(attempts.map(({ attempt, outcome, statusCode }) => ({ attempt, outcome, statusCode }))).toEqual([
      { attempt: 1, outcome: 'failed', statusCode: null },
      { attempt: 2, outcome: 'failed', statusCode: null },
      { attempt: 3, outcome: 'gave_up', statusCode: null },
    ]);
    for (const attempt of attempts) expect(attempt.error).toMatch(/ECONNREFUSED/);
    expect((await db.run.findUniqueOrThrow({ where: { id: runId } })).status).toBe('succeeded');
  });

  it('adds one job when the same run end is enqueued twice', async () => {
    const { runId, eventId } = await endedRun();
    await queue.pause();
    try {
      await Promise.all([enqueueRunEndWebhook({ db, webhooksQueue: queue }, runId), enqueueRunEndWebhook({ db, webhooksQueue: otherProcessQueue() }, runId)]);
      const jobs = (await queue.getJobs(['wait'])).filter((job) => job.data.runId === runId);
      expect(jobs.map((job) => job.id)).toEqual([eventId]);
    } finally {
      await queue.remove(eventId);
      await queue.resume();
    }
  });
});

/** The reconciliation of another worker process: its own connections and engine on the same database and prefix. */
function otherProcessEngine(): RunEngine {
  const redis = connect();
  const engine = new RunEngine({ config, db, redis, runsQueue: createRunsQueue(redis, config.REDIS_PREFIX), webhooksQueue: createWebhooksQueue(redis, config), logger, registry });
  engines.push(engine);
  return engine;
}
const engines: RunEngine[] = [];
afterAll(() => Promise.all(engines.map((engine) => engine.close())));

const outboxRow = (runId: string) => db.runOutbox.findFirst({ where: { runId } });

describe('exactly one delivery per run end', () => {
  it('delivers once for a run whose worker died before its end effects (outbox), even with two reconcilers', async () => {
    const { runId, eventId } = await endedRun({ outbox: 'pending' });
    const before = receiver.received.length;
    const [a, b] = [otherProcessEngine(), otherProcessEngine()];

    const passes = await Promise.all([a.reconcile(), b.reconcile(), a.reconcile()]);
    expect(passes.reduce((sum, pass) => sum + pass.effects, 0)).toBe(1);
    await jobFinished(queue, eventId, 'completed');
    await until(async () => (await outboxRow(runId)) === null, 'the outbox row to go once the delivery is final');

    // The completed job leaves Redis (removeOnComplete); Postgres must still prevent a second delivery.
    await queue.remove(eventId);
    expect(await a.reconcile()).toMatchObject({ effects: 0, webhooks: 0 });
    expect(await b.reconcile()).toMatchObject({ effects: 0, webhooks: 0 });
    expect(await enqueueRunEndWebhook({ db, webhooksQueue: queue }, runId)).toBe(false);
    // A duplicate job that slips past every check anyway sends nothing.
    await queue.add('run.succeeded', { runId, eventId, eventType: 'run.succeeded' }, { jobId: `${eventId}_duplicate` });
    await jobFinished(queue, `${eventId}_duplicate`, 'completed');

    expect(receiver.received.slice(before).map((r) => r.headers['webhook-id'])).toEqual([eventId]);
    expect(await attemptsOf(runId)).toMatchObject([{ attempt: 1, outcome: 'succeeded' }]);
  });

  it('resumes a delivery whose retry job was lost, continuing the attempt count', async () => {
    const { runId, eventId } = await endedRun({ outbox: 'effects-done' });
    await db.webhookDelivery.create({
      data: {
        id: `whd_lost_${runId}`,
        runId,
        eventId,
        eventType: 'run.succeeded',
        url: receiver.url,
        attempt: 1,
        statusCode: 502,
        outcome: 'failed',
        attemptedAt: new Date(Date.now() - 10 * 60_000),
      },
    });

    expect(await otherProcessEngine().reconcile()).toMatchObject({ effects: 0, webhooks: 1 });
    await jobFinished(queue, eventId, 'completed');

    expect((await attemptsOf(runId)).map(({ attempt, outcome }) => [attempt, outcome])).toEqual([
      [1, 'failed'],
      [2, 'succeeded'],
    ]);
  });

  it('leaves alone a delivery whose retry is still scheduled', async () => {
    const { runId, eventId } = await endedRun({ outbox: 'effects-done' });
    await queue.add('run.succeeded', { runId, eventId, eventType: 'run.succeeded' }, { jobId: eventId, delay: 3_600_000 });

    expect(await otherProcessEngine().reconcile()).toMatchObject({ webhooks: 0 });
    expect(await queue.getJobState(eventId)).toBe('delayed');
    await queue.remove(eventId);
  });

  it('owes nothing for a run end whose effects were settled and that has no webhook', async () => {
    const { runId, eventId } = await endedRun({ webhookUrl: null, outbox: 'none' });

    await otherProcessEngine().reconcile();
    expect(await queue.getJob(eventId)).toBeUndefined();
    expect(await outboxRow(runId)).toBeNull();
  });
});
