import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../src/test-support.ts';

const ADMIN = { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'queue dashboard secret' };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const valid = basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD);

/** Paths of every kind the dashboard serves: page, client routes, assets, read API, actions. */
const dashboardPaths: [method: string, path: string][] = [
  ['GET', '/admin/queues'],
  ['GET', '/admin/queues/'],
  ['GET', '/admin/queues/queue/runs'],
  ['GET', '/admin/queues/static/favicon.ico'],
  ['GET', '/admin/queues/api/queues'],
  ['GET', '/admin/queues/api/redis/stats'],
  ['PUT', '/admin/queues/api/queues/runs/retry/failed'],
  ['PUT', '/admin/queues/api/queues/webhooks/clean/completed'],
  ['GET', '/admin/queues/does-not-exist'],
];

describe('the queue dashboard with admin credentials configured', () => {
  let api: TestApi;
  let assets: string[];

  beforeAll(async () => {
    api = createTestApi(ADMIN);
    const page = await api.app.request('/admin/queues', { headers: { authorization: valid } });
    expect(page.status).toBe(200);
    const html = await page.text();
    const base = /<base href="([^"]+)"/.exec(html)?.[1];
    expect(base).toBe('/admin/queues/');
    assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((match) => `${base}${match[1]}`);
  });

  afterAll(async () => {
    await api?.close();
  });

  it('answers 401 with a basic-auth challenge for every /admin/queues path without credentials', async () => {
    expect(assets.length).toBeGreaterThan(0);
    for (const [method, path] of [...dashboardPaths, ...assets.map((asset) => ['GET', asset] as [string, string])]) {
      const response = await api.app.request(path, { method });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.headers.get('www-authenticate'), `${method} ${path}`).toMatch(/^Basic realm=/);
    }
  });

  it('answers 401 for a wrong password, a wrong user, a bearer token and a malformed header', async () => {
    for (const authorization of [
      basic(ADMIN.ADMIN_USER, 'wrong'),
      basic('someone', ADMIN.ADMIN_PASSWORD),
      basic(ADMIN.ADMIN_USER, `${ADMIN.ADMIN_PASSWORD}x`),
      'Bearer test-token-0123456789',
      'Basic not-base64!',
      `Basic ${Buffer.from('no-colon').toString('base64')}`,
    ]) {
      const response = await api.app.request('/admin/queues/api/queues', { headers: { authorization } });
      expect(response.status, authorization).toBe(401);
    }
  });

  it('serves the page, its assets and the queue API with the right credentials, listing the runs and webhooks queues', async () => {
    for (const asset of assets) {
      const response = await api.app.request(asset, { headers: { authorization: valid } });
      expect(response.status, asset).toBe(200);
    }
    const response = await api.app.request('/admin/queues/api/queues', { headers: { authorization: valid } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { queues: { name: string; readOnlyMode: boolean; allowRetries: boolean }[] };
    expect(body.queues.map((queue) => queue.name).sort()).toEqual(['runs', 'webhooks']);
    for (const queue of body.queues) expect(queue).toMatchObject({ readOnlyMode: false, allowRetries: true });
  });
});

describe('the queue dashboard without admin credentials configured', () => {
  let api: TestApi;

  beforeAll(() => {
    api = createTestApi({ ADMIN_USER: '', ADMIN_PASSWORD: '' });
  });

  afterAll(async () => {
    await api?.close();
  });

  it('does not exist: every /admin path is a 404, with or without credentials', async () => {
    for (const [method, path] of dashboardPaths) {
      for (const headers of [{}, { authorization: basic('', '') }, { authorization: basic('admin', 'admin') }] as Record<string, string>[]) {
        const response = await api.app.request(path, { method, headers });
        expect(response.status, `${method} ${path}`).toBe(404);
      }
    }
  });

  it('stays off when only the user name is configured', async () => {
    const halfConfigured = createTestApi({ ADMIN_USER: 'ops', ADMIN_PASSWORD: '' });
    try {
      const response = await halfConfigured.app.request('/admin/queues', { headers: { authorization: basic('ops', '') } });
      expect(response.status).toBe(404);
    } finally {
      await halfConfigured.close();
    }
  });
});
