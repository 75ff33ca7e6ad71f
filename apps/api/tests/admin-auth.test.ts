import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../src/test-support.ts';
import { type ConsoleSession, ORIGIN, signIn } from './console-session.ts';

const ADMIN = { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'queue dashboard secret' };
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

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

describe('the queue dashboard behind the console sign-in', () => {
  let api: TestApi;
  let session: ConsoleSession;
  let assets: string[];
  let html: string;

  beforeAll(async () => {
    api = createTestApi(ADMIN);
    session = await signIn(api, ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD);
    const page = await session.get('/admin/queues');
    expect(page.status).toBe(200);
    html = await page.text();
    const base = /<base href="([^"]+)"/.exec(html)?.[1];
    expect(base).toBe('/admin/queues/');
    assets = [...html.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((match) => `${base}${match[1]}`);
  });

  afterAll(async () => {
    await api?.close();
  });

  it('sends a page without a session to the console login, and answers its API and assets 401', async () => {
    expect(assets.length).toBeGreaterThan(0);
    for (const [method, path] of [...dashboardPaths, ...assets.map((asset) => ['GET', asset] as [string, string])]) {
      const response = await api.app.request(path, { method });
      const isPage = method === 'GET' && !path.includes('/api/') && !path.includes('/static/');
      if (isPage) {
        expect(response.status, `${method} ${path}`).toBe(303);
        expect(response.headers.get('location'), path).toBe(`/login?next=${encodeURIComponent(path)}`);
      } else {
        expect(response.status, `${method} ${path}`).toBe(401);
      }
      expect(response.headers.get('www-authenticate'), 'no browser-native basic auth').toBeNull();
    }
  });

  it('accepts no basic auth any more, not even with the right credentials', async () => {
    const response = await api.app.request('/admin/queues/api/queues', { headers: { authorization: basic(ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD) } });
    expect(response.status).toBe(401);
  });

  it('serves the page, its assets and the queue API to a signed-in session, listing the runs, schedules and webhooks queues', async () => {
    for (const asset of assets) {
      const response = await session.get(asset);
      expect(response.status, asset).toBe(200);
    }
    const response = await session.get('/admin/queues/api/queues');
    expect(response.status).toBe(200);
    const body = (await response.json()) as { queues: { name: string; readOnlyMode: boolean; allowRetries: boolean }[] };
    expect(body.queues.map((queue) => queue.name).sort()).toEqual(['runs', 'schedules', 'webhooks']);
    for (const queue of body.queues) expect(queue).toMatchObject({ readOnlyMode: false, allowRetries: true });
  });

  it('serves the page under the strict Content-Security-Policy, without web fonts from another origin or inline styles', async () => {
    const page = await session.get('/admin/queues');
    expect(page.headers.get('content-security-policy')).toContain("style-src 'self'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\sstyle="|<style/);
  });

  it('takes dashboard actions only from this site', async () => {
    const foreign = await api.app.request('/admin/queues/api/queues/webhooks/clean/completed', {
      method: 'PUT',
      headers: { cookie: session.cookie, origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const own = await api.app.request('/admin/queues/api/queues/webhooks/clean/completed', {
      method: 'PUT',
      headers: { cookie: session.cookie, origin: ORIGIN },
    });
    expect(own.status).toBeLessThan(300);
  });

  it('comes back to the dashboard after signing in from its redirect', async () => {
    const fresh = await signIn(api, ADMIN.ADMIN_USER, ADMIN.ADMIN_PASSWORD, '/admin/queues/queue/runs');
    expect(fresh.landedOn).toBe('/admin/queues/queue/runs');
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
