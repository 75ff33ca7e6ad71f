import { afterAll, describe, expect, it } from 'vitest';
import { createApp } from '../app.ts';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

describe('errors and request ids', () => {
  it('answers an unexpected error with a generic 500 and logs it with the request id', async () => {
    const app = createApp(api.deps, {
      extras: (root) =>
        root.get('/explode', () => {
          throw new Error('database password is hunter2');
        }),
    });
    const res = await app.request('/explode', { headers: { 'x-request-id': 'req-explode-1' } });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('internal_error');
    expect(body.error.message).toContain('req-explode-1');
    expect(JSON.stringify(body)).not.toContain('hunter2');
    const line = api
      .logs()
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .find((l) => l.msg === 'unexpected error');
    expect(line).toMatchObject({ requestId: 'req-explode-1', level: 50, path: '/explode' });
  });

  it('returns the caller’s x-request-id, or a new one, and logs each request with it', async () => {
    const given = await api.app.request('/healthz', { headers: { 'x-request-id': 'abc-123' } });
    expect(given.headers.get('x-request-id')).toBe('abc-123');
    const made = await api.app.request('/healthz');
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const unsafe = await api.app.request('/healthz', { headers: { 'x-request-id': 'bad id\u0007with spaces' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    await api.call('GET', '/v1/agents', undefined, { 'x-request-id': 'req-logged-1' });
    expect(api.logs()).toContain('"requestId":"req-logged-1"');
  });

  it('answers unknown routes with 404 not_found in the error shape', async () => {
    const res = await api.app.request('/nowhere');
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'not_found', message: 'no route GET /nowhere' } });
  });

  it('reports readiness 503 when Redis does not answer', async () => {
    const redisDown = { ping: () => Promise.reject(new Error('connection refused')) } as unknown as typeof api.deps.redis;
    const res = await createApp({ ...api.deps, redis: redisDown }).request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ status: 'error', checks: { postgres: 'ok', redis: 'error' } });
  });
});
