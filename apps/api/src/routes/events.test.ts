import { afterAll, describe, expect, it } from 'vitest';
import { compareEventIds, nextEventId, readRunEvents, runEventsKey } from '@conveyor/core';
import { eventStreamSettings, RunEventPublisher, type RunEventStream } from '@conveyor/core';
import { createLogger, metrics } from '@conveyor/core';
import { testConfig } from '@conveyor/core/testing';
import { createTestApi } from '../test-support.ts';
import { closeEventHub } from './events.ts';

const api = createTestApi();
afterAll(async () => {
  await closeEventHub(api.deps);
  await api.close();
});

const prefix = api.deps.config.REDIS_PREFIX;
/** Events written the way a worker with a one-second retention writes them (a stream in flight lives two seconds). */
const publisher = new RunEventPublisher(
  api.deps.redis,
  prefix,
  createLogger({ level: 'silent' }),
  eventStreamSettings(testConfig({ RUN_EVENTS_RETENTION_SECONDS: '1', RUN_MAX_DURATION_SECONDS: '1' })),
);

interface SseEvent {
  id: string;
  event: string;
  data: any;
}

/** Reads an SSE body as it arrives. */
function sseReader(response: Response) {
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: SseEvent[] = [];
  let buffer = '';
  let ended = false;
  const readMore = async () => {
    const { value, done } = await reader.read();
    if (done) ended = true;
    buffer += value ?? '';
    let end: number;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const fields: Record<string, string> = Object.fromEntries(
        block
          .split('\n')
          .filter((line) => !line.startsWith(':'))
          .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trimStart()]),
      );
      if (fields.event) events.push({ id: fields.id ?? '', event: fields.event, data: JSON.parse(fields.data ?? 'null') });
    }
  };
  return {
    events,
    async until(count: number) {
      while (events.length < count && !ended) await readMore();
      return events;
    },
    async toEnd() {
      while (!ended) await readMore();
      return events;
    },
  };
}

const follow = async (runId: string, lastEventId?: string) => {
  const response = await api.call('GET', `/v1/runs/${runId}/events`, undefined, lastEventId ? { 'last-event-id': lastEventId } : {});
  expect(response.status).toBe(200);
  return sseReader(response);
};

/** A one-step run that a worker has started: running in Postgres. */
async function runningRun(): Promise<string> {
  const json = async (res: Response) => (await res.json()) as any;
  const agent = await json(await api.call('POST', '/v1/agents', { name: 'writer', model: 'gpt-4o' }));
  const pipeline = await json(await api.call('POST', '/v1/pipelines', { name: 'p', steps: [{ agentId: agent.id }] }));
  const run = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'x' }));
  const startedAt = new Date();
  await api.deps.db.run.update({ where: { id: run.id }, data: { status: 'running', startedAt } });
  await api.deps.db.runStep.update({
    where: { runId_index: { runId: run.id, index: 0 } },
    data: { status: 'running', provider: 'openai', model: 'gpt-4o', startedAt },
  });
  return run.id;
}

/** Records the run's success in Postgres, as the worker does before writing the terminal event. */
async function succeedInDatabase(runId: string): Promise<void> {
  const finishedAt = new Date();
  await api.deps.db.runStep.update({
    where: { runId_index: { runId, index: 0 } },
    data: { status: 'succeeded', output: 'hello', inputTokens: 3, outputTokens: 2, finishedAt },
  });
  await api.deps.db.run.update({ where: { id: runId }, data: { status: 'succeeded', output: 'hello', inputTokens: 3, outputTokens: 2, finishedAt } });
}

async function emitStart(stream: RunEventStream): Promise<void> {
  await stream.emit('run.started', { runId: stream.runId, startedAt: new Date().toISOString() });
  await stream.emit('step.started', { index: 0, agentId: 'agt_x', provider: 'openai', model: 'gpt-4o' });
  stream.delta(0, 'hel');
  await stream.settled();
}

async function emitEnd(stream: RunEventStream): Promise<void> {
  await stream.emit('step.completed', { index: 0, output: 'hello', usage: { inputTokens: 3, outputTokens: 2 }, cost: null });
  await succeedInDatabase(stream.runId);
  await stream.emit('run.succeeded', { runId: stream.runId, output: 'hello', usage: { inputTokens: 3, outputTokens: 2 }, cost: null, artifactId: '' });
}

/** Streams `count` numbered words of 2 KB each, one delta each; returns them. */
async function emitLongWords(stream: RunEventStream, count: number): Promise<string[]> {
  const words = Array.from({ length: count }, (_, i) => `${String(i).padStart(4, '0')}${'x'.repeat(2000)}`);
  for (const word of words) {
    stream.delta(0, word);
    await stream.settled();
  }
  return words;
}

async function untilExpired(runId: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while ((await api.deps.redis.exists(runEventsKey(prefix, runId))) === 1) {
    if (Date.now() > deadline) throw new Error(`the stream of ${runId} did not expire`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const succeeded = { runId: expect.any(String), output: 'hello', usage: { inputTokens: 3, outputTokens: 2 }, cost: null, artifactId: '' };

describe("opening a run's event stream", () => {
  it('many clients opening at once get their streams, and a run that does not exist is 404, in the same turn', async () => {
    const runId = await runningRun();
    const opened = await Promise.all([
      ...Array.from({ length: 20 }, () => api.call('GET', `/v1/runs/${runId}/events`)),
      api.call('GET', '/v1/runs/run_doesnotexist/events'),
    ]);
    const missing = opened.pop()!;
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: unknown }).error).toMatchObject({ code: 'not_found' });
    expect(opened.map((response) => response.status)).toEqual(opened.map(() => 200));
    await Promise.all(opened.map((response) => response.body!.cancel()));
  });
});

describe('run events once the run has left Redis', () => {
  it('a client connecting after the stream expired gets the history from Postgres, without deltas, and can resume it', async () => {
    const runId = await runningRun();
    const stream = publisher.forRun(runId);
    await emitStart(stream);
    await emitEnd(stream);
    await untilExpired(runId);

    const events = await (await follow(runId)).toEnd();
    expect(events.map((event) => [event.id, event.event])).toEqual([
      ['0-1', 'run.started'],
      ['0-2', 'step.started'],
      ['0-3', 'step.completed'],
      ['0-4', 'run.succeeded'],
    ]);
    expect(events[3]!.data).toEqual({ ...succeeded, runId });

    const resumed = await (await follow(runId, '0-2')).toEnd();
    expect(resumed).toEqual(events.slice(2));
  });

  it('a client following a run whose stream expires before it read the terminal event ends with the terminal event from Postgres', async () => {
    const runId = await runningRun();
    const startedAt = Date.now();
    const client = await follow(runId);
    const stream = publisher.forRun(runId);
    await emitStart(stream);
    const live = [...(await client.until(3))];
    expect(live.map((event) => event.event)).toEqual(['run.started', 'step.started', 'step.delta']);

    // The run ends, but its terminal event never reaches Redis; the stream expires on its own.
    await succeedInDatabase(runId);
    const events = await client.toEnd();
    expect(events.slice(0, 3)).toEqual(live);
    expect(events.slice(3)).toEqual([{ id: nextEventId(live[2]!.id), event: 'run.succeeded', data: { ...succeeded, runId } }]);
    // Well before the 15 s quiet period after which the route would look at Postgres anyway.
    expect(Date.now() - startedAt).toBeLessThan(10_000);
  }, 20_000);

  it('a client reconnecting with Last-Event-ID after the stream expired gets the terminal event, after the id it sent', async () => {
    const runId = await runningRun();
    const client = await follow(runId);
    const stream = publisher.forRun(runId);
    await emitStart(stream);
    await emitEnd(stream);
    const live = await client.toEnd();
    expect(live.map((event) => event.event)).toEqual(['run.started', 'step.started', 'step.delta', 'step.completed', 'run.succeeded']);
    await untilExpired(runId);

    const lastEventId = live[2]!.id;
    const reconnectedAt = Date.now();
    const resumed = await (await follow(runId, lastEventId)).toEnd();
    expect(Date.now() - reconnectedAt).toBeLessThan(5_000);
    expect(resumed).toEqual([{ id: nextEventId(lastEventId), event: 'run.succeeded', data: live[4]!.data }]);
    expect(compareEventIds(resumed[0]!.id, lastEventId)).toBe(1);
  });
});

describe('a run waiting for a person', () => {
  it('whose stream expired during the wait: a client gets the history kept at the pause, then the live events; Last-Event-ID resumes within it', async () => {
    const runId = await runningRun();
    const before = publisher.forRun(runId);
    await emitStart(before);
    await before.emit('run.waiting', { index: 0, output: 'hel' });
    // What the worker keeps in Postgres at the pause, then the wait outlasts the stream.
    const kept = (await readRunEvents(api.deps.redis, prefix, runId)).filter((event) => event.type !== 'step.delta');
    await api.deps.db.runEventHistory.create({ data: { runId, events: kept as never } });
    await api.deps.db.run.update({ where: { id: runId }, data: { status: 'waiting' } });
    await api.deps.redis.del(runEventsKey(prefix, runId));

    const client = await follow(runId);
    expect((await client.until(kept.length)).map((event) => [event.id, event.event])).toEqual(kept.map((event) => [event.id, event.type]));
    const resumed = await follow(runId, kept[0]!.id);
    expect((await resumed.until(kept.length - 1)).map((event) => event.id)).toEqual(kept.slice(1).map((event) => event.id));

    // Approved: a worker resumes the run on a new stream.
    await api.deps.db.run.update({ where: { id: runId }, data: { status: 'running' } });
    await emitEnd(publisher.forRun(runId));
    const all = await client.toEnd();
    expect(all.slice(kept.length).map((event) => event.event)).toEqual(['step.completed', 'run.succeeded']);
    expect(all.map((event) => event.id)).toEqual([...all.map((event) => event.id)].sort(compareEventIds));
    expect((await resumed.toEnd()).at(-1)!.event).toBe('run.succeeded');
  });
});

describe('following a run live', () => {
  const openStreams = async () => (await metrics.registry.getSingleMetric('conveyor_sse_subscribers')!.get()).values[0]?.value ?? 0;

  it('many clients of one run each get every event, in order, with the same ids', async () => {
    const runId = await runningRun();
    const clients = await Promise.all(Array.from({ length: 5 }, () => follow(runId)));
    const stream = publisher.forRun(runId);
    await emitStart(stream);
    for (const word of [' wor', 'ld', '!']) {
      stream.delta(0, word);
      await stream.settled();
    }
    await emitEnd(stream);
    const seen = await Promise.all(clients.map((client) => client.toEnd()));
    const text = seen[0]!.filter((event) => event.event === 'step.delta').map((event) => event.data.text).join('');
    expect(text).toBe('hel world!');
    expect(seen[0]!.at(-1)!.event).toBe('run.succeeded');
    for (const events of seen) expect(events).toEqual(seen[0]);
  });

  it('a client that reads slowly gets every event in order once it reads: what it has not read waits in the API', async () => {
    const runId = await runningRun();
    const client = await follow(runId);
    const stream = publisher.forRun(runId);
    await emitStart(stream);
    // About 600 KB, far beyond what the API hands the socket before the client reads.
    const words = await emitLongWords(stream, 300);
    await emitEnd(stream);
    const events = await client.toEnd();
    const text = events.filter((event) => event.event === 'step.delta').map((event) => event.data.text).join('');
    expect(text).toBe(`hel${words.join('')}`);
    expect(events.at(-1)!.event).toBe('run.succeeded');
    for (let i = 1; i < events.length; i++) expect(compareEventIds(events[i]!.id, events[i - 1]!.id)).toBe(1);
  });

  it('a client joining a run whose history is larger than what the API queues unread gets its answer and all of it', async () => {
    const runId = await runningRun();
    const stream = publisher.forRun(runId);
    await emitStart(stream);
    const words = await emitLongWords(stream, 100);
    // About 200 KB of history, far beyond what the API holds unread before the client reads.
    const client = await follow(runId);
    await emitEnd(stream);
    const events = await client.toEnd();
    expect(events.filter((event) => event.event === 'step.delta').map((event) => event.data.text).join('')).toBe(`hel${words.join('')}`);
    expect(events.at(-1)!.event).toBe('run.succeeded');
  });

  it('a client that goes away is no longer served: its open stream is released at once', async () => {
    const runId = await runningRun();
    const before = await openStreams();
    const response = await api.call('GET', `/v1/runs/${runId}/events`);
    const reader = response.body!.getReader();
    const stream = publisher.forRun(runId);
    await emitStart(stream);
    await reader.read();
    expect(await openStreams()).toBe(before + 1);

    await reader.cancel();
    // The route wakes on the abort (no event has to arrive first) and leaves the hub.
    while ((await openStreams()) !== before) await new Promise((resolve) => setTimeout(resolve, 10));
    await emitEnd(stream);
  });
});
