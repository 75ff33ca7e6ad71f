import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedis } from '../queue/connection.ts';
import { testPrefix } from '../../testkit/index.ts';
import { ProviderAbortedError } from './errors.ts';
import { limitConcurrency, ProviderLimiter } from './limiter.ts';
import type { ChatRequest, ChatResult, Provider } from './types.ts';

const connections: Redis[] = [];
const connect = () => {
  const redis = createRedis(process.env.REDIS_URL!);
  connections.push(redis);
  return redis;
};

afterAll(async () => {
  await Promise.all(connections.map((redis) => redis.quit()));
});

/** A fake provider that counts its calls in flight and answers after `delayMs`. */
function countingProvider(id: string, delayMs: number) {
  const state = { current: 0, max: 0, calls: 0 };
  const provider: Provider = {
    id,
    async chat(request: ChatRequest): Promise<ChatResult> {
      state.current += 1;
      state.calls += 1;
      state.max = Math.max(state.max, state.current);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      state.current -= 1;
      return { text: 'ok', stopReason: 'end_turn', rawStopReason: 'end_turn', usage: { inputTokens: 1, outputTokens: 1 }, warnings: [], model: request.model };
    },
  };
  return { provider, state };
}

const request: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };

describe('ProviderLimiter', () => {
  let prefix: string;
  beforeAll(() => {
    prefix = testPrefix('limiter');
  });

  it('keeps calls in flight to one provider at or under its limit across limiter instances', async () => {
    const { provider, state } = countingProvider('anthropic', 40);
    // Two limiters on two connections stand for two worker processes.
    const limiters = [0, 1].map(() => new ProviderLimiter({ redis: connect(), prefix, limits: { anthropic: 3 } }));
    const calls = Array.from({ length: 16 }, (_, i) => limitConcurrency(provider, limiters[i % 2]!).chat(request));
    await Promise.all(calls);
    expect(state.calls).toBe(16);
    expect(state.max).toBe(3);
  });

  it('leaves providers without a limit alone', async () => {
    const { provider, state } = countingProvider('openai', 20);
    const limiter = new ProviderLimiter({ redis: connect(), prefix, limits: { anthropic: 1 } });
    expect(limitConcurrency(provider, limiter)).toBe(provider);
    await Promise.all(Array.from({ length: 5 }, () => limitConcurrency(provider, limiter).chat(request)));
    expect(state.max).toBe(5);
  });

  it('stops waiting for a slot when the call is aborted', async () => {
    const limiter = new ProviderLimiter({ redis: connect(), prefix: testPrefix('limiter'), limits: { anthropic: 1 } });
    const held = await limiter.acquire('anthropic');
    const controller = new AbortController();
    const waiting = limiter.acquire('anthropic', controller.signal);
    setTimeout(() => controller.abort(), 50);
    await expect(waiting).rejects.toBeInstanceOf(ProviderAbortedError);
    await held.release();
    const next = await limiter.acquire('anthropic');
    await next.release();
  });

  it('frees the slot of a holder that stopped renewing (a dead worker) once its lease ends', async () => {
    const shared = testPrefix('limiter');
    const redis = connect();
    // What a crashed worker leaves behind: a held slot that nobody renews or releases.
    const [seconds] = await redis.time();
    await redis.zadd(`${shared}:provider-slots:openai`, Number(seconds) * 1000 + 1_500, 'crashed-worker');
    const limiter = new ProviderLimiter({ redis, prefix: shared, limits: { openai: 1 } });
    const slot = await limiter.acquire('openai', AbortSignal.timeout(10_000));
    expect(await redis.zrange(`${shared}:provider-slots:openai`, '0', '-1')).not.toContain('crashed-worker');
    await slot.release();
  });

  it('returns the slot when the call fails', async () => {
    const limiter = new ProviderLimiter({ redis: connect(), prefix: testPrefix('limiter'), limits: { anthropic: 1 } });
    const failing: Provider = { id: 'anthropic', chat: async () => Promise.reject(new Error('boom')) };
    await expect(limitConcurrency(failing, limiter).chat(request)).rejects.toThrow('boom');
    const slot = await limiter.acquire('anthropic', AbortSignal.timeout(2_000));
    await slot.release();
  });
});
