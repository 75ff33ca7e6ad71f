import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../src/test-support.ts';
import { ADMIN, cookiesOf, csrfTokenIn, formBody, ORIGIN, signIn, type ConsoleSession } from './console-session.ts';

const pages = ['/', '/agents', '/agents/new', '/agents/agt_x', '/agents/agt_x/edit', '/agents/agt_x/delete', '/pipelines', '/pipelines/new', '/pipelines/pip_x', '/runs', '/runs/run_x', '/runs/run_x/events', '/artifacts', '/artifacts/art_x', '/settings'];

describe('console without admin credentials', () => {
  let api: TestApi;
  beforeAll(() => {
    api = createTestApi({ ADMIN_USER: '', ADMIN_PASSWORD: '' });
  });
  afterAll(() => api.close());

  it('does not exist: every page and the login answer 404', async () => {
    for (const path of ['/login', '/agents', '/runs', '/settings', '/console-assets/console.css']) {
      const response = await api.app.request(path);
      expect(response.status, path).toBe(404);
    }
    const login = await api.app.request('/login', { method: 'POST', headers: { origin: ORIGIN }, body: formBody({ user: '', password: '' }) });
    expect(login.status).toBe(404);
  });
});

describe('console sign-in, sessions and CSRF', () => {
  let api: TestApi;
  let session: ConsoleSession;
  beforeAll(async () => {
    api = createTestApi(ADMIN);
    session = await signIn(api);
  });
  afterAll(() => api.close());

  it('redirects every page to the login without a session, remembering where it was going', async () => {
    for (const path of pages) {
      const response = await api.app.request(path);
      expect(response.status, path).toBeGreaterThanOrEqual(300);
      expect(response.status, path).toBeLessThan(400);
      const location = response.headers.get('location')!;
      expect(location, path).toMatch(/^\/(login|runs)/);
      if (path !== '/') expect(location, path).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
  });

  it('redirects form posts without a session to the login and changes nothing', async () => {
    const before = await api.deps.db.agent.count({ where: { name: 'no-session agent' } });
    const response = await api.app.request('/agents', {
      method: 'POST',
      headers: { origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ name: 'no-session agent', model: '__default__' }),
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/login/);
    expect(await api.deps.db.agent.count({ where: { name: 'no-session agent' } })).toBe(before);
  });

  it('leaves the API alone: /v1 still answers JSON 401 and unknown paths JSON 404', async () => {
    const v1 = await api.app.request('/v1/agents');
    expect(v1.status).toBe(401);
    expect(await v1.json()).toMatchObject({ error: { code: 'unauthorized' } });
    const unknown = await api.app.request('/no-such-page');
    expect(unknown.status).toBe(404);
  });

  it('refuses a wrong password, without saying which part was wrong', async () => {
    const page = await api.app.request('/login');
    const response = await api.app.request('/login', {
      method: 'POST',
      headers: { cookie: cookiesOf(page), origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ _csrf: csrfTokenIn(await page.text()), user: ADMIN.ADMIN_USER, password: 'wrong' }),
    });
    expect(response.status).toBe(401);
    expect(await response.text()).toContain('Wrong user name or password.');
    expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith('conveyor_session='))).toBe(false);
  });

  it('refuses a login post without its CSRF token', async () => {
    const page = await api.app.request('/login');
    const response = await api.app.request('/login', {
      method: 'POST',
      headers: { cookie: cookiesOf(page), origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ user: ADMIN.ADMIN_USER, password: ADMIN.ADMIN_PASSWORD }),
    });
    expect(response.status).toBe(403);
  });

  it('sets a signed, http-only, SameSite=Lax session cookie', async () => {
    const page = await api.app.request('/login');
    const response = await api.app.request('/login', {
      method: 'POST',
      headers: { cookie: cookiesOf(page), origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
      body: formBody({ _csrf: csrfTokenIn(await page.text()), user: ADMIN.ADMIN_USER, password: ADMIN.ADMIN_PASSWORD, next: '//evil.example/x' }),
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/runs');
    const cookie = response.headers.getSetCookie().find((value) => value.startsWith('conveyor_session='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toContain(ADMIN.ADMIN_PASSWORD);
  });

  it('does not accept a tampered session cookie', async () => {
    const [name, value] = session.cookie.split(/=(.*)/s) as [string, string];
    const decoded = decodeURIComponent(value);
    const flipped = `${decoded[0] === 'A' ? 'B' : 'A'}${decoded.slice(1)}`;
    const response = await api.app.request('/agents', { headers: { cookie: `${name}=${encodeURIComponent(flipped)}` } });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/login/);
  });

  it('refuses a form post without the CSRF token with 403, and creates nothing', async () => {
    const name = `csrf-refused-${Date.now()}`;
    const response = await session.post('/agents', { name, model: '__default__' }, { csrf: null });
    expect(response.status).toBe(403);
    expect(await response.text()).toContain('Refused');
    expect(await api.deps.db.agent.count({ where: { name } })).toBe(0);
  });

  it('refuses a form post with a wrong CSRF token or from another origin', async () => {
    const name = `csrf-wrong-${Date.now()}`;
    expect((await session.post('/agents', { name, model: '__default__' }, { csrf: 'x'.repeat(32) })).status).toBe(403);
    expect((await session.post('/agents', { name, model: '__default__' }, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await session.post('/agents', { name, model: '__default__' }, { origin: null })).status).toBe(403);
    expect(await api.deps.db.agent.count({ where: { name } })).toBe(0);
  });

  it("refuses the MCP \"List tools\" check without the CSRF token or from another origin (403), and answers it with them", async () => {
    const server = { mcpUrl: 'http://127.0.0.1:9/mcp', mcpAllowedTools: '', mcpHeaders: '' };
    expect((await session.post('/agents/mcp-tools', server, { csrf: null })).status).toBe(403);
    expect((await session.post('/agents/mcp-tools', server, { origin: 'https://evil.example' })).status).toBe(403);
    const accepted = await session.post('/agents/mcp-tools', server);
    expect(accepted.status).toBe(502);
    expect(((await accepted.json()) as { error: { message: string } }).error.message).toContain('could not list the tools of the MCP server at http://127.0.0.1:9');
  });

  it('accepts the same post with the token and the right origin', async () => {
    const name = `csrf-accepted-${Date.now()}`;
    const response = await session.post('/agents', { name, model: '__default__' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toMatch(/^\/agents\/agt_/);
    expect(await api.deps.db.agent.count({ where: { name } })).toBe(1);
  });

  it('signs out: the session cookie is cleared', async () => {
    const response = await session.post('/logout', {});
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login');
    expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith('conveyor_session=;'))).toBe(true);
  });
});
