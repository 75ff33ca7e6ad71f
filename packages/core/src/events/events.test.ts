import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, describe, expect, it } from 'vitest';
import { closedPort } from '../../testkit/webhook-receiver.ts';
import { createLogger } from '../logger.ts';
import { createRedis } from '../queue/connection.ts';
import { testPrefix } from '../../testkit/index.ts';
import { eventsFromDatabaseAfter, type StoredRun } from './from-database.ts';
import { compareEventIds, nextEventId, runEventsKey } from './keys.ts';
import { queuePrefix } from '../queue/names.ts';
import { RunEventPublisher } from './publish.ts';
import { readRunEvents, RunEventHub } from './replay.ts';
import type { RunEvent } from './types.ts';

describe('run events in Redis Streams', () => {
  const redis = createRedis(process.env.REDIS_URL!);
  const prefix = testPrefix('events');
  const publisher = new RunEventPublisher(redis, prefix, createLogger({ level: 'silent' }), {
    maxLength: 1000,
    retentionSeconds: 60,
    activeTtlSeconds: 600,
    deltaIntervalMs: 200,
    deltaBurst: 2,
    maxDeltaWritesPerSecond: 2000,
  });
  const hub = new RunEventHub(redis, prefix, { blockMs: 500 });

  afterAll(async () => {
    await hub.close();
    redis.disconnect();
  });

  it('merges fragments of one tick, writes a burst at once, coalesces the rest to the interval end, keeps call order', async () => {
    const stream = publisher.forRun('run_order');
    const tick = () => new Promise((resolve) => setImmediate(resolve));
    await stream.emit('step.started', { index: 0, agentId: 'a', provider: 'openai', model: 'gpt-4o' });
    const started = performance.now();
    stream.delta(0, 'one ');
    stream.delta(0, 'two ');
    await tick();
    stream.delta(0, 'three ');
    await tick();
    stream.delta(0, 'four ');
    await tick();
    stream.delta(0, 'five');
    await tick();
    const written = async () => (await readRunEvents(redis, prefix, 'run_order')).filter((event) => event.type === 'step.delta');
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await written()).map((event) => event.data)).toEqual([
      { index: 0, text: 'one two ' },
      { index: 0, text: 'three ' },
    ]);
    while ((await written()).length < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    await stream.emit('step.completed', { index: 0, output: 'one two three four five', usage: { inputTokens: 1, outputTokens: 5 }, cost: null });
    const events = await readRunEvents(redis, prefix, 'run_order');
    expect(events.map((event) => event.type)).toEqual(['step.started', 'step.delta', 'step.delta', 'step.delta', 'step.completed']);
    expect(events[3]!.data).toEqual({ index: 0, text: 'four five' });
    for (let i = 1; i < events.length; i++) expect(compareEventIds(events[i]!.id, events[i - 1]!.id)).toBe(1);
    expect(await redis.ttl(runEventsKey(prefix, 'run_order'))).toBeGreaterThan(60);
  });

  it('writes a fragment at the end of the turn it arrived in, before the I/O the loop handles next', async () => {
    const stream = publisher.forRun('run_turn');
    // Registered before the fragment arrives: a read sent from it on the same connection sees the delta only if it was sent first.
    const seen = new Promise<number>((resolve) => setImmediate(() => resolve(redis.xlen(runEventsKey(prefix, 'run_turn')))));
    stream.delta(0, 'now');
    expect(await seen).toBe(1);
  });

  it('writes pending fragments before the next event without waiting for the interval', async () => {
    const stream = publisher.forRun('run_flush');
    for (const word of ['a ', 'b ', 'c ']) {
      stream.delta(0, word);
      await new Promise((resolve) => setImmediate(resolve));
    }
    stream.delta(0, 'd');
    await stream.emit('step.completed', { index: 0, output: 'a b c d', usage: { inputTokens: 1, outputTokens: 4 }, cost: null });
    const events = await readRunEvents(redis, prefix, 'run_flush');
    expect(events.map((event) => [event.type, (event.data as { text?: string }).text])).toEqual([
      ['step.delta', 'a '],
      ['step.delta', 'b '],
      ['step.delta', 'c d'],
      ['step.completed', undefined],
    ]);
  });

  it('shortens the TTL to the retention period once the terminal event is written', async () => {
    const stream = publisher.forRun('run_ttl');
    await stream.emit('run.started', { runId: 'run_ttl', startedAt: new Date().toISOString() });
    await stream.emit('run.canceled', { runId: 'run_ttl' });
    const ttl = await redis.ttl(runEventsKey(prefix, 'run_ttl'));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);
  });

  it('tails many runs over one connection: each subscriber gets exactly the events after its cursor', async () => {
    const a = publisher.forRun('run_a');
    const b = publisher.forRun('run_b');
    await a.emit('run.started', { runId: 'run_a', startedAt: 'x' });
    const [first] = await readRunEvents(redis, prefix, 'run_a');

    const seenA: RunEvent[] = [];
    const seenAll: RunEvent[] = [];
    const seenB: RunEvent[] = [];
    const stops = [
      hub.subscribe('run_a', first!.id, (events) => seenA.push(...events)),
      hub.subscribe('run_a', '0-0', (events) => seenAll.push(...events)),
      hub.subscribe('run_b', '0-0', (events) => seenB.push(...events)),
    ];
    await a.emit('run.canceled', { runId: 'run_a' });
    await b.emit('run.failed', { runId: 'run_b', error: { code: 'timeout', message: 'too long' } });
    const deadline = Date.now() + 5000;
    while ((seenA.length < 1 || seenAll.length < 2 || seenB.length < 1) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const stop of stops) stop();

    expect(seenA.map((event) => event.type)).toEqual(['run.canceled']);
    expect(seenAll.map((event) => event.type)).toEqual(['run.started', 'run.canceled']);
    expect(seenB.map((event) => event.type)).toEqual(['run.failed']);
    expect(hub.subscriberCount).toBe(0);
  });

  it('serves a subscriber that joins while the read blocks at once, and wakes the read only when it must: once for many joining together', async () => {
    const quietPrefix = testPrefix('events-wake');
    const quietPublisher = new RunEventPublisher(redis, quietPrefix, createLogger({ level: 'silent' }));
    // Blocks far longer than the test: only a wake-up can make the read notice a new subscription.
    const quietHub = new RunEventHub(redis, quietPrefix, { blockMs: 600_000 });
    const wakeUps = async () => {
      const [key] = await redis.keys(`${queuePrefix(quietPrefix)}:events-wake:*`);
      if (!key) return 0;
      const info = (await redis.call('XINFO', 'STREAM', key)) as unknown[];
      return Number(info[info.indexOf('entries-added') + 1]);
    };
    const until = async (done: () => boolean) => {
      while (!done()) await new Promise((resolve) => setTimeout(resolve, 10));
    };
    try {
      const x = quietPublisher.forRun('run_x');
      const seenX: RunEvent[] = [];
      quietHub.subscribe('run_x', '0-0', (events) => seenX.push(...events));
      await x.emit('run.started', { runId: 'run_x', startedAt: 'x' });
      await until(() => seenX.length === 1);
      const wakesWhileReading = await wakeUps();

      // Fifty clients of a run the read does not cover: one wake-up serves them all.
      const seenY: RunEvent[][] = Array.from({ length: 50 }, () => []);
      seenY.forEach((seen) => quietHub.subscribe('run_y', '0-0', (events) => seen.push(...events)));
      await quietPublisher.forRun('run_y').emit('run.started', { runId: 'run_y', startedAt: 'y' });
      await until(() => seenY.every((seen) => seen.length === 1));
      expect(await wakeUps()).toBe(wakesWhileReading + 1);

      // A client at the read's own cursor is covered by it: no wake-up, and it gets what comes next.
      const seenAtCursor: RunEvent[] = [];
      quietHub.subscribe('run_x', seenX[0]!.id, (events) => seenAtCursor.push(...events));
      // A client from the start of run_x is behind the read: it wakes the read and gets the history too.
      const seenFromStart: RunEvent[] = [];
      quietHub.subscribe('run_x', '0-0', (events) => seenFromStart.push(...events));
      await until(() => seenFromStart.length === 1);
      await x.emit('run.canceled', { runId: 'run_x' });
      await until(() => seenAtCursor.length === 1 && seenFromStart.length === 2 && seenX.length === 2);
      expect(seenAtCursor.map((event) => event.type)).toEqual(['run.canceled']);
      expect(seenFromStart.map((event) => event.type)).toEqual(['run.started', 'run.canceled']);
      expect(await wakeUps()).toBe(wakesWhileReading + 2);
    } finally {
      await quietHub.close();
    }
  });

  it('writes an event with the id reserved for it, and with the next id Redis gives when the stream has moved past it', async () => {
    const stream = publisher.forRun('run_reserved');
    await stream.emit('run.started', { runId: 'run_reserved', startedAt: 'x' });
    const reserved = await stream.reserveId();
    const [started] = await readRunEvents(redis, prefix, 'run_reserved');
    expect(compareEventIds(reserved!, started!.id)).toBe(1);
    await stream.emit('run.canceled', { runId: 'run_reserved' }, reserved);
    expect((await readRunEvents(redis, prefix, 'run_reserved')).map((event) => event.id)).toEqual([started!.id, reserved]);
    expect(stream.history()!.map((event) => event.id)).toEqual([started!.id, reserved]);

    const other = publisher.forRun('run_overtaken');
    await other.emit('run.started', { runId: 'run_overtaken', startedAt: 'x' });
    const overtaken = await other.reserveId();
    // Someone else writes to the run's stream meanwhile, after the reserved id.
    await redis.xadd(runEventsKey(prefix, 'run_overtaken'), nextEventId(overtaken!), 'type', 'step.warning', 'data', '{"index":0,"message":"w"}');
    await other.emit('run.canceled', { runId: 'run_overtaken' }, overtaken);
    const written = await readRunEvents(redis, prefix, 'run_overtaken');
    expect(written.map((event) => event.type)).toEqual(['run.started', 'step.warning', 'run.canceled']);
    expect(compareEventIds(written[2]!.id, nextEventId(overtaken!))).toBe(1);
    expect(other.history()!.at(-1)!.id).toBe(written[2]!.id);
  });

  it('keeps the events of a waiting run for its wait and the TTL of a running run after it, or for 30 days without a timeout', async () => {
    const stream = publisher.forRun('run_waits');
    await stream.emit('run.waiting', { index: 1, output: 'draft' });
    const now = new Date();
    stream.keepWhileWaiting(new Date(now.getTime() + 3_600_000), now);
    await stream.settled();
    const key = runEventsKey(prefix, 'run_waits');
    // activeTtlSeconds is 600 in this file's settings.
    expect(await redis.ttl(key)).toBeGreaterThan(3600 + 590);
    expect(await redis.ttl(key)).toBeLessThanOrEqual(3600 + 600);
    stream.keepWhileWaiting(null, now);
    await stream.settled();
    expect(await redis.ttl(key)).toBeGreaterThan(29 * 24 * 3600);

    // Resumed, the run's next stream puts back a running run's TTL.
    await publisher.forRun('run_waits').emit('step.started', { index: 2, agentId: 'a', provider: 'openai', model: 'gpt-4o' });
    expect(await redis.ttl(key)).toBeLessThanOrEqual(600);
  });

  it('reads the history after a Last-Event-ID', async () => {
    const all = await readRunEvents(redis, prefix, 'run_order');
    expect(await readRunEvents(redis, prefix, 'run_order', all[0]!.id)).toEqual(all.slice(1));
  });

  it('tells a subscriber that has read from a stream when the stream expires, and not one waiting for a stream not yet written', async () => {
    const briefPublisher = new RunEventPublisher(redis, prefix, createLogger({ level: 'silent' }), {
      maxLength: 1000,
      retentionSeconds: 1,
      activeTtlSeconds: 600,
      deltaIntervalMs: 20,
      deltaBurst: 3,
      maxDeltaWritesPerSecond: 2000,
    });
    const stream = briefPublisher.forRun('run_brief');
    let readerGone = 0;
    let waiterGone = 0;
    const seen: RunEvent[] = [];
    const stops = [
      hub.subscribe('run_brief', '0-0', (events) => seen.push(...events), { onStreamGone: () => (readerGone += 1) }),
      hub.subscribe('run_not_started', '0-0', () => undefined, { onStreamGone: () => (waiterGone += 1) }),
    ];
    await stream.emit('run.started', { runId: 'run_brief', startedAt: 'x' });
    await stream.emit('run.canceled', { runId: 'run_brief' });

    const deadline = Date.now() + 5000;
    while (readerGone === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    await new Promise((resolve) => setTimeout(resolve, 1200)); // a few more presence checks
    for (const stop of stops) stop();

    expect(seen.map((event) => event.type)).toEqual(['run.started', 'run.canceled']);
    expect(await redis.exists(runEventsKey(prefix, 'run_brief'))).toBe(0);
    expect(readerGone).toBe(1);
    expect(waiterGone).toBe(0);
  });
});

describe('the events of an ended run from Postgres', () => {
  const startedAt = new Date('2026-01-01T00:00:00Z');
  const step = { runId: 'run_db', agentId: 'agt_1', provider: 'openai', model: 'gpt-4o', warnings: ['slow'], inputTokens: 1, outputTokens: 2, cacheReadTokens: 0, cacheWriteTokens: 0, cost: null, error: null, startedAt, finishedAt: startedAt };
  const run = {
    id: 'run_db',
    status: 'succeeded',
    output: 'done',
    error: null,
    inputTokens: 2,
    outputTokens: 4,
    cost: null,
    startedAt,
    steps: [
      { ...step, index: 1, status: 'succeeded', output: 'done' },
      { ...step, index: 0, status: 'succeeded', output: 'first' },
    ],
    artifact: { id: 'art_1' },
  } as unknown as StoredRun;

  it('rebuilds the whole history, without deltas, with ids 0-1, 0-2, ...', () => {
    const events = eventsFromDatabaseAfter(run);
    expect(events.map((event) => [event.id, event.type])).toEqual([
      ['0-1', 'run.started'],
      ['0-2', 'step.started'],
      ['0-3', 'step.warning'],
      ['0-4', 'step.completed'],
      ['0-5', 'step.started'],
      ['0-6', 'step.warning'],
      ['0-7', 'step.completed'],
      ['0-8', 'run.succeeded'],
    ]);
    expect(events.at(-1)!.data).toEqual({ runId: 'run_db', output: 'done', usage: { inputTokens: 2, outputTokens: 4 }, cost: null, artifactId: 'art_1' });
  });

  it('resumes a history it rebuilt after a Last-Event-ID of its own', () => {
    expect(eventsFromDatabaseAfter(run, '0-6').map((event) => event.id)).toEqual(['0-7', '0-8']);
    expect(eventsFromDatabaseAfter(run, '0-8')).toEqual([]);
  });

  it('after a stream entry id, gives only the terminal event, with the next id', () => {
    expect(eventsFromDatabaseAfter(run, '1700000000000-4')).toEqual([
      { id: '1700000000000-5', type: 'run.succeeded', data: eventsFromDatabaseAfter(run).at(-1)!.data },
    ]);
  });

  it('gives nothing while the run has not ended', () => {
    expect(eventsFromDatabaseAfter({ ...run, status: 'running' } as StoredRun, '1700000000000-4')).toEqual([]);
    expect(eventsFromDatabaseAfter({ ...run, status: 'running' } as StoredRun)).toEqual([]);
  });
});

describe('run event plumbing under load and failure', () => {
  it('keeps a run\'s publisher memory flat however many events it emits', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    // As the run engine's events connection.
    const redis = createRedis(process.env.REDIS_URL!, { enableAutoPipelining: false });
    const prefix = testPrefix('events-memory');
    const settings = { maxLength: 100, retentionSeconds: 5, activeTtlSeconds: 60, deltaIntervalMs: 30, deltaBurst: 3, maxDeltaWritesPerSecond: 2000 };
    const stream = new RunEventPublisher(redis, prefix, createLogger({ level: 'silent' }), settings).forRun('run_many_events');
    const heapAfter = async (events: number) => {
      for (let sent = 0; sent < events; sent += 1000) {
        for (let i = 0; i < 1000; i++) void stream.emit('step.warning', { index: 0, message: 'w' });
        await stream.settled();
      }
      for (let i = 0; i < 3; i++) {
        await new Promise((resolve) => setImmediate(resolve));
        gc();
      }
      return process.memoryUsage().heapUsed;
    };
    try {
      const warm = await heapAfter(10_000);
      const grown = (await heapAfter(100_000)) - warm;
      // Holding every write's reply until the run ends costs ~180 bytes an event: 18 MB here.
      expect(grown).toBeLessThan(6_000_000);
    } finally {
      await redis.del(runEventsKey(prefix, 'run_many_events'));
      redis.disconnect();
    }
  }, 60_000);

  it('keeps the SSE reader alive when Redis cannot be reached: a logged warning, never an unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    let logged = '';
    const logger = createLogger({ level: 'warn', destination: new Writable({ write: (chunk, _e, done) => ((logged += String(chunk)), done()) }) });
    const unreachable = createRedis(`redis://127.0.0.1:${await closedPort()}`, { enableOfflineQueue: false, maxRetriesPerRequest: 0, retryStrategy: () => null });
    unreachable.on('error', () => {});
    const hub = new RunEventHub(unreachable, testPrefix('events-down'), { blockMs: 100, logger });
    try {
      const unsubscribe = hub.subscribe('run_unreachable', '0-0', () => {});
      for (let i = 0; i < 100 && !logged.includes('reading run events failed'); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      unsubscribe();
      expect(logged).toContain('reading run events failed; retrying');
      expect(unhandled).toEqual([]);
    } finally {
      await hub.close();
      unreachable.disconnect();
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
