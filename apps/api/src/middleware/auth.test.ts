import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi, TEST_TOKEN } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const methods = ['get', 'post', 'put', 'patch', 'delete'] as const;

async function documentedV1Routes(): Promise<{ method: string; path: string }[]> {
  const doc = (await (await api.app.request('/openapi.json')).json()) as { paths: Record<string, Record<string, unknown>> };
  return Object.entries(doc.paths)
    .filter(([path]) => path.startsWith('/v1/'))
    .flatMap(([path, operations]) =>
      methods.filter((m) => m in operations).map((method) => ({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x_1') })),
    );
}

describe('bearer auth', () => {
  it('answers 401 on every /v1 route without a valid bearer token', async () => {
    const routes = await documentedV1Routes();
    expect(routes.length).toBeGreaterThanOrEqual(20);
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer wrong-token-0000000' },
      { authorization: `Bearer ${TEST_TOKEN}x` },
      { authorization: `Basic ${Buffer.from(`user:${TEST_TOKEN}`).toString('base64')}` },
      { authorization: TEST_TOKEN },
      { authorization: 'Bearer ' },
    ];
    for (const { method, path } of routes) {
      for (const headers of attempts) {
        const res = await api.app.request(path, {
          method,
          headers: { 'content-type': 'application/json', ...headers },
          ...(method === 'GET' || method === 'DELETE' ? {} : { body: '{}' }),
        });
        expect(res.status, `${method} ${path} ${JSON.stringify(headers)}`).toBe(401);
        expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'a valid bearer token is required' } });
      }
    }
  });

  it('also guards /v1 paths that match no route', async () => {
    expect((await api.app.request('/v1/nothing-here')).status).toBe(401);
  });

  it('accepts every configured token, and any case of the scheme', async () => {
    for (const authorization of [`Bearer ${TEST_TOKEN}`, 'Bearer second-token-abcdef', `bearer ${TEST_TOKEN}`]) {
      expect((await api.app.request('/v1/agents', { headers: { authorization } })).status).toBe(200);
    }
  });

  it('leaves health, readiness and the API reference open', async () => {
    for (const path of ['/healthz', '/readyz', '/openapi.json', '/docs']) {
      expect((await api.app.request(path)).status, path).toBe(200);
    }
  });

  it('refuses everything when no token is configured', async () => {
    const closed = createTestApi({ API_TOKENS: '' });
    try {
      expect((await closed.call('GET', '/v1/agents')).status).toBe(401);
    } finally {
      await closed.close();
    }
  });
});
