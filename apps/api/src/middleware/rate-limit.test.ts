import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi, TEST_TOKEN } from '../test-support.ts';

const api = createTestApi({ API_RATE_LIMIT: '3/m' });
afterAll(() => api.close());

const limitedCount = async () => {
  const text = await (await api.app.request('/metrics')).text();
  return Number(/^conveyor_rate_limited_total\{scope="api"\} (\d+)/m.exec(text)?.[1] ?? 0);
};

describe('API_RATE_LIMIT', () => {
  it('answers 429 rate_limited with Retry-After past the limit, with RateLimit headers on every answer, and counts it', async () => {
    const before = await limitedCount();
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await api.call('GET', '/v1/agents'));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(answers.map((r) => r.headers.get('ratelimit-remaining'))).toEqual(['2', '1', '0', '0']);
    expect(answers[0]!.headers.get('ratelimit-limit')).toBe('3');
    expect(answers[0]!.headers.get('ratelimit-policy')).toBe('3;w=60');

    const limited = answers[3]!;
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(Number(limited.headers.get('ratelimit-reset'))).toBe(retryAfter);
    expect(((await limited.json()) as { error: { code: string } }).error.code).toBe('rate_limited');
    expect(await limitedCount()).toBe(before + 1);
  });

  it('counts each token on its own, across replicas sharing Redis', async () => {
    const replica = createTestApi({ API_RATE_LIMIT: '3/m', REDIS_PREFIX: api.deps.config.REDIS_PREFIX });
    try {
      // The first token used its 3 requests above, on the other replica.
      expect((await replica.call('GET', '/v1/agents')).status).toBe(429);
      const other = await replica.call('GET', '/v1/agents', undefined, { authorization: 'Bearer second-token-abcdef' });
      expect(other.status).toBe(200);
      expect(other.headers.get('ratelimit-remaining')).toBe('2');
    } finally {
      await replica.close();
    }
  });

  it('never stores a token in Redis', async () => {
    const keys = await api.deps.redis.keys(`${api.deps.config.REDIS_PREFIX}:rate:*`);
    expect(keys.length).toBeGreaterThan(0);
    expect(keys.join(' ')).not.toContain(TEST_TOKEN);
  });

  it('sends no RateLimit headers when no limit is set', async () => {
    const unlimited = createTestApi();
    try {
      const response = await unlimited.call('GET', '/v1/agents');
      expect(response.status).toBe(200);
      expect(response.headers.get('ratelimit-limit')).toBeNull();
    } finally {
      await unlimited.close();
    }
  });
});
