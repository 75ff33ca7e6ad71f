import http from 'node:http';
import { UnrecoverableError } from 'bullmq';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDatabase } from '../db/client.ts';
import { createLogger } from '../logger.ts';
import { testConfig } from '../../testkit/index.ts';
import { deliverRunWebhook, type WebhookDeliveryDeps } from './deliver.ts';
import { runEndEvent } from './payload.ts';
import { RetryDeliveryError } from './schedule.ts';
import type { HostResolver } from './ssrf.ts';
import { createEndedRun, deleteRuns, type EndedRunOptions, startTestReceiver, type TestReceiver } from '../../testkit/webhook-receiver.ts';

const secret = 'whsec_' + Buffer.from('conveyor delivery test secret').toString('base64');
const db = createDatabase(process.env.DATABASE_URL!, { max: 2 });
const logger = createLogger({ level: 'silent' });
const created: Array<{ runId: string; pipelineId: string }> = [];
let receiver: TestReceiver;

const depsWith = (overrides: Record<string, string> = {}, lookup?: HostResolver): WebhookDeliveryDeps => ({
  db,
  logger,
  config: testConfig({
    WEBHOOK_SECRET: secret,
    WEBHOOK_RETRY_SCHEDULE: '0.05,0.05',
    WEBHOOK_TIMEOUT_SECONDS: '1',
    WEBHOOK_ALLOW_PRIVATE: 'true',
    ...overrides,
  }),
  ...(lookup ? { lookup } : {}),
});

async function endedRun(options: EndedRunOptions = {}) {
  const run = await createEndedRun(db, { webhookUrl: receiver.url, ...options });
  created.push(run);
  const status = options.status ?? 'succeeded';
  const event = runEndEvent(run.runId, status);
  return { ...run, job: { runId: run.runId, eventId: event.id, eventType: event.type } };
}

const attemptsOf = (runId: string) => db.webhookDelivery.findMany({ where: { runId }, orderBy: { attempt: 'asc' } });

beforeAll(async () => {
  receiver = await startTestReceiver();
});

afterEach(() => {
  vi.restoreAllMocks();
});

afterAll(async () => {
  await receiver.close();
  await deleteRuns(db, created);
  await db.$disconnect();
});

describe('one webhook delivery attempt', () => {
  it('posts a Standard Webhooks signed run.succeeded payload and records the attempt', async () => {
    const { runId, job } = await endedRun();
    const before = receiver.received.length;

    const record = await deliverRunWebhook(depsWith(), job);

    expect(record).toMatchObject({ attempt: 1, outcome: 'succeeded', statusCode: 200, error: null });
    const request = receiver.received[before]!;
    const payload = new Webhook(secret).verify(request.body, request.headers) as Record<string, any>;
    expect(request.headers['webhook-id']).toBe(`msg_${runId}_succeeded`);
    expect(request.headers['content-type']).toBe('application/json');
    const run = await db.run.findUniqueOrThrow({ where: { id: runId } });
    expect(payload).toMatchObject({
      type: 'run.succeeded',
      timestamp: run.finishedAt!.toISOString(),
      data: { id: runId, status: 'succeeded', output: { text: 'done' }, usage: { inputTokens: 12, outputTokens: 34 } },
    });
    expect(await attemptsOf(runId)).toMatchObject([{ attempt: 1, outcome: 'succeeded', statusCode: 200, eventType: 'run.succeeded', url: receiver.url }]);
  });

  it("sends a failed run's error to its pipeline's webhook URL when the run has none", async () => {
    const { job } = await endedRun({ status: 'failed', webhookUrl: null, pipelineWebhookUrl: receiver.url });
    const before = receiver.received.length;

    await deliverRunWebhook(depsWith(), job);

    const payload = JSON.parse(receiver.received[before]!.body);
    expect(payload).toMatchObject({ type: 'run.failed', data: { status: 'failed', error: { code: 'provider_error', message: 'model refused' } } });
  });

  it('sends unsigned (id and timestamp only) when WEBHOOK_SECRET is not set', async () => {
    const { job } = await endedRun({ status: 'canceled' });
    const before = receiver.received.length;
    const deps = depsWith();

    await deliverRunWebhook({ ...deps, config: { ...deps.config, WEBHOOK_SECRET: undefined } }, job);

    const { headers } = receiver.received[before]!;
    expect(headers['webhook-id']).toBe(job.eventId);
    expect(headers['webhook-signature']).toBeUndefined();
  });

  it('records a non-2xx answer as failed and asks for a retry after the scheduled delay', async () => {
    const { runId, job } = await endedRun();
    receiver.reply(500);

    const error = await deliverRunWebhook(depsWith(), job).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(RetryDeliveryError);
    expect((error as RetryDeliveryError).delayMs).toBe(50);
    expect(await attemptsOf(runId)).toMatchObject([{ attempt: 1, outcome: 'failed', statusCode: 500 }]);
  });

  it('does not follow a redirect', async () => {
    const { runId, job } = await endedRun();
    receiver.reply(307);
    const before = receiver.received.length;

    await expect(deliverRunWebhook(depsWith(), job)).rejects.toBeInstanceOf(RetryDeliveryError);

    expect(receiver.received.length).toBe(before + 1);
    expect(await attemptsOf(runId)).toMatchObject([{ outcome: 'failed', statusCode: 307, error: 'redirects are not followed' }]);
  });

  it('gives a receiver that does not answer in time up to the timeout, then retries', async () => {
    const { runId, job } = await endedRun();
    receiver.reply('hang');

    await expect(deliverRunWebhook(depsWith(), job)).rejects.toBeInstanceOf(RetryDeliveryError);

    const [attempt] = await attemptsOf(runId);
    expect(attempt).toMatchObject({ outcome: 'failed', statusCode: null });
    expect(attempt!.error).toMatch(/no complete response within 1000 ms/);
  });

  it('stops for good on 410 Gone', async () => {
    const { runId, job } = await endedRun();
    receiver.reply(410);

    await expect(deliverRunWebhook(depsWith(), job)).rejects.toBeInstanceOf(UnrecoverableError);

    expect(await attemptsOf(runId)).toMatchObject([{ attempt: 1, outcome: 'stopped', statusCode: 410 }]);
  });

  it('marks the last scheduled attempt as gave_up', async () => {
    const { runId, job } = await endedRun();
    receiver.reply(500, 500, 500);
    const deps = depsWith();

    await expect(deliverRunWebhook(deps, job)).rejects.toBeInstanceOf(RetryDeliveryError);
    await expect(deliverRunWebhook(deps, job)).rejects.toBeInstanceOf(RetryDeliveryError);
    await expect(deliverRunWebhook(deps, job)).rejects.toBeInstanceOf(UnrecoverableError);

    expect((await attemptsOf(runId)).map((a) => a.outcome)).toEqual(['failed', 'failed', 'gave_up']);
  });

  it('sends nothing for an event that already succeeded', async () => {
    const { job } = await endedRun();
    await deliverRunWebhook(depsWith(), job);
    const before = receiver.received.length;

    expect(await deliverRunWebhook(depsWith(), job)).toBeNull();

    expect(receiver.received.length).toBe(before);
  });
});

describe('a resend after a final outcome', () => {
  it('makes one more attempt with the same webhook-id, numbered after the schedule', async () => {
    const { job } = await endedRun();
    await deliverRunWebhook(depsWith(), job);
    const before = receiver.received.length;

    const resent = await deliverRunWebhook(depsWith(), { ...job, resend: 1 });

    expect(resent).toMatchObject({ attempt: 2, outcome: 'succeeded' });
    expect(receiver.received.length).toBe(before + 1);
    expect(receiver.received[before]!.headers['webhook-id']).toBe(job.eventId);
    expect(await deliverRunWebhook(depsWith(), { ...job, resend: 1 })).toBeNull();
    expect(receiver.received.length).toBe(before + 1);
  });

  it('gives up after its single attempt instead of joining the retry schedule', async () => {
    const { runId, job } = await endedRun();
    receiver.reply(500, 500, 500, 500);
    const deps = depsWith();
    for (let attempt = 0; attempt < 2; attempt++) await deliverRunWebhook(deps, job).catch(() => undefined);
    await expect(deliverRunWebhook(deps, job)).rejects.toBeInstanceOf(UnrecoverableError);

    await expect(deliverRunWebhook(deps, { ...job, resend: 1 })).rejects.toBeInstanceOf(UnrecoverableError);

    expect((await attemptsOf(runId)).map((a) => a.outcome)).toEqual(['failed', 'failed', 'gave_up', 'gave_up']);
  });
});

describe('SSRF checks at delivery', () => {
  const refusingDeps = (lookup: HostResolver) => depsWith({ WEBHOOK_ALLOW_PRIVATE: 'false' }, lookup);
  const port = () => new URL(receiver.url).port;

  it.each(['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/hook'])(
    'refuses %s without opening a connection and stops',
    async (url) => {
      const { runId, job } = await endedRun({ webhookUrl: url });
      const request = vi.spyOn(http, 'request');
      const lookup = vi.fn<HostResolver>();

      await expect(deliverRunWebhook(refusingDeps(lookup), job)).rejects.toBeInstanceOf(UnrecoverableError);

      expect(request).not.toHaveBeenCalled();
      expect(lookup).not.toHaveBeenCalled();
      const [attempt] = await attemptsOf(runId);
      expect(attempt).toMatchObject({ outcome: 'stopped', statusCode: null });
      expect(attempt!.error).toMatch(/loopback, private, link-local or metadata/);
    },
  );

  it('refuses localhost without connecting', async () => {
    const { runId, job } = await endedRun({ webhookUrl: `http://localhost:${port()}/hooks` });
    const connections = receiver.connections;

    await expect(deliverRunWebhook(refusingDeps(vi.fn<HostResolver>()), job)).rejects.toBeInstanceOf(UnrecoverableError);

    expect(receiver.connections).toBe(connections);
    expect(await attemptsOf(runId)).toMatchObject([{ outcome: 'stopped' }]);
  });

  it.each(['127.0.0.1', '10.0.0.1', '::ffff:169.254.169.254'])(
    'refuses a host name that now resolves to %s, without connecting',
    async (address) => {
      const { runId, job } = await endedRun({ webhookUrl: `http://hooks.example.com:${port()}/hooks` });
      const connections = receiver.connections;
      const lookup: HostResolver = async () => [{ address, family: address.includes(':') ? 6 : 4 }];

      await expect(deliverRunWebhook(refusingDeps(lookup), job)).rejects.toBeInstanceOf(UnrecoverableError);

      expect(receiver.connections).toBe(connections);
      const [attempt] = await attemptsOf(runId);
      expect(attempt).toMatchObject({ outcome: 'stopped', statusCode: null });
      expect(attempt!.error).toMatch(/private/);
    },
  );

  it('delivers to 127.0.0.1 when private targets are allowed', async () => {
    const { runId, job } = await endedRun();

    await deliverRunWebhook(depsWith({ WEBHOOK_ALLOW_PRIVATE: 'true' }), job);

    expect(await attemptsOf(runId)).toMatchObject([{ outcome: 'succeeded' }]);
  });
});
