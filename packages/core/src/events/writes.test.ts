import { afterAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createRedis } from '../queue/connection.ts';
import { testPrefix } from '../../testkit/index.ts';
import { runEventsKey } from './keys.ts';
import { readRunEvents } from './replay.ts';
import { EventWrites } from './writes.ts';

/** Counts the writes the connection makes to its socket from now on. */
function countSocketWrites(redis: Redis): { readonly count: number; stop(): void } {
  const socket = redis.stream;
  const write = socket.write;
  const counter = { count: 0, stop: () => void (socket.write = write) };
  socket.write = function (this: typeof socket, ...args: Parameters<typeof write>) {
    counter.count++;
    return write.apply(this, args);
  } as typeof write;
  return counter;
}

describe('event writes', () => {
  const redis = createRedis(process.env.REDIS_URL!);
  const prefix = testPrefix('event-writes');
  const key = (runId: string) => runEventsKey(prefix, runId);
  const fields = (type: string) => ['type', type, 'data', '{}'];

  afterAll(() => redis.quit());

  it('sends a command given while nothing is in flight at the end of its turn, before the I/O the loop handles next', async () => {
    await redis.ping();
    const writes = new EventWrites(redis);
    const sockets = countSocketWrites(redis);
    // Registered before the command is given, sent at the end of this iteration: it sees the entry only if the entry went first.
    const seen = new Promise<number>((resolve) => setImmediate(() => resolve(redis.xlen(key('alone')))));
    const written = writes.xadd(key('alone'), 100, '*', fields('run.started'));
    await Promise.resolve();
    expect(sockets.count).toBe(0);
    expect(await seen).toBe(1);
    expect(await written).toMatch(/^\d+-\d+$/);
    sockets.stop();
  });

  it('gathers what several runs give while a batch is unanswered into one write at the end of the iteration, in order', async () => {
    await redis.ping();
    const writes = new EventWrites(redis);
    const sockets = countSocketWrites(redis);
    const first = writes.xadd(key('a'), 100, '*', fields('run.started'));
    // The first batch goes at the end of this tick; its reply cannot be read before the loop polls again.
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(sockets.count).toBe(1);
    const later = [
      writes.xadd(key('a'), 100, '*', fields('step.started')),
      writes.xadd(key('b'), 100, '*', fields('run.started')),
      writes.expire(key('b'), 600),
      writes.xadd(key('a'), 100, '*', fields('step.delta')),
    ];
    await new Promise<void>((resolve) => process.nextTick(resolve));
    expect(sockets.count).toBe(1);
    const replies = await Promise.all([first, ...later]);
    expect(sockets.count).toBe(2);
    expect(replies[3]).toBe(1);
    expect((await readRunEvents(redis, prefix, 'a')).map((event) => event.type)).toEqual(['run.started', 'step.started', 'step.delta']);
    expect((await readRunEvents(redis, prefix, 'b')).map((event) => event.type)).toEqual(['run.started']);
    expect(await redis.ttl(key('b'))).toBeGreaterThan(500);
    sockets.stop();
  });

  it('fails only the command Redis refused, not the others of its batch', async () => {
    const writes = new EventWrites(redis);
    await writes.xadd(key('refused'), 100, '5-0', fields('run.started'));
    const [before, refused, after] = await Promise.allSettled([
      writes.xadd(key('refused'), 100, '6-0', fields('step.started')),
      writes.xadd(key('refused'), 100, '1-0', fields('step.delta')),
      writes.xadd(key('refused'), 100, '7-0', fields('step.completed')),
    ]);
    expect(before).toEqual({ status: 'fulfilled', value: '6-0' });
    expect(refused.status).toBe('rejected');
    expect((refused as PromiseRejectedResult).reason.message).toMatch(/equal or smaller than the target stream top item/);
    expect(after).toEqual({ status: 'fulfilled', value: '7-0' });
  });

  it('sends what is waiting at once on flush, so a connection closed next loses none of it', async () => {
    const connection = createRedis(process.env.REDIS_URL!);
    await connection.ping();
    const writes = new EventWrites(connection);
    const sent = writes.xadd(key('closing'), 100, '*', fields('run.succeeded'));
    writes.flush();
    await connection.quit();
    expect(await sent).toMatch(/^\d+-\d+$/);
    expect(await redis.xlen(key('closing'))).toBe(1);
  });
});
