import { afterAll, describe, expect, it } from 'vitest';
import { FAILURES_PER_CLIENT, FAILURES_PER_USER } from '../src/console/auth/login-throttle.ts';
import { createTestApi, type TestApi } from '../src/test-support.ts';
import { ADMIN, cookiesOf, csrfTokenIn, ORIGIN, signIn } from './console-session.ts';

const apis: TestApi[] = [];
function newApi(env: Record<string, string> = {}): TestApi {
  const api = createTestApi({ ...ADMIN, ...env });
  apis.push(api);
  return api;
}
afterAll(async () => {
  for (const api of apis) await api.close();
});

/** A sign-in post through the real form, with the raw url-encoded body given (so odd encodings reach the server as sent). */
async function postLogin(api: TestApi, fields: string, headers: Record<string, string> = {}): Promise<Response> {
  const page = await api.app.request('/login', { headers });
  const token = csrfTokenIn(await page.text());
  return api.app.request('/login', {
    method: 'POST',
    headers: { cookie: cookiesOf(page), origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: `_csrf=${encodeURIComponent(token)}&${fields}`,
  });
}
const credentials = (password = ADMIN.ADMIN_PASSWORD, user = ADMIN.ADMIN_USER) => `user=${encodeURIComponent(user)}&password=${encodeURIComponent(password)}`;

describe('where a sign-in leads', () => {
  const api = newApi();

  it.each([
    ['a tab before another host', '%2F%09%2Fevil.example%2Fx'],
    ['a newline', '%2Fruns%0ASet-Cookie%3A%20x%3D1'],
    ['CRLF', '%2Fruns%0D%0ALocation%3A%20https%3A%2F%2Fevil.example'],
    ['a protocol-relative URL', '%2F%2Fevil.example'],
    ['a backslash', '%2F%5Cevil.example'],
    ['an absolute URL', 'https%3A%2F%2Fevil.example%2Fruns'],
    ['an API path', '%2Fv1%2Fagents'],
  ])('goes to /runs, never off the console and never a 500, for a next with %s', async (_, next) => {
    const response = await postLogin(api, `${credentials()}&next=${next}`);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/runs');
  });

  it('keeps a console path, and never puts an unsafe next into the login form', async () => {
    const response = await postLogin(api, `${credentials()}&next=${encodeURIComponent('/pipelines?cursor=x')}`);
    expect(response.headers.get('location')).toBe('/pipelines?cursor=x');
    for (const next of ['%2F%09%2Fevil.example%2Fx', '%2Fruns%0D%0AX%3A%20y', '%2F%2Fevil.example']) {
      const page = await api.app.request(`/login?next=${next}`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('name="next" value="/runs"');
    }
  });
});

describe('server-side sessions', () => {
  it('are revoked at sign-out: a copied session cookie stops working', async () => {
    const api = newApi();
    const session = await signIn(api);
    const copied = session.cookie;
    expect((await api.app.request('/agents', { headers: { cookie: copied } })).status).toBe(200);
    expect((await session.post('/logout', {})).status).toBe(303);
    const after = await api.app.request('/agents', { headers: { cookie: copied } });
    expect(after.status).toBe(303);
    expect(after.headers.get('location')).toMatch(/^\/login/);
  });

  it('keep nothing but a random id in the cookie', async () => {
    const api = newApi();
    const session = await signIn(api);
    const value = decodeURIComponent(session.cookie.split(/=(.*)/s)[1]!);
    expect(value).not.toContain(ADMIN.ADMIN_USER);
    expect(value).not.toContain(session.csrf);
    expect(await api.deps.redis.keys(`${api.deps.config.REDIS_PREFIX}:console:session:*`)).toHaveLength(1);
  });

  it('end when the admin password changes, on every replica', async () => {
    const api = newApi({ ENCRYPTION_KEY: 'cd'.repeat(32) });
    const session = await signIn(api);
    const sameKeys = { ENCRYPTION_KEY: 'cd'.repeat(32), REDIS_PREFIX: api.deps.config.REDIS_PREFIX };
    const replica = newApi(sameKeys);
    expect((await replica.app.request('/agents', { headers: { cookie: session.cookie } })).status).toBe(200);
    const changed = newApi({ ...sameKeys, ADMIN_PASSWORD: 'a brand new password' });
    expect((await changed.app.request('/agents', { headers: { cookie: session.cookie } })).status).toBe(303);
  });
});

describe('sign-in throttling', () => {
  it('refuses a client after too many failures with 429, a clear message and Retry-After, even with the right password', async () => {
    const api = newApi();
    for (let i = 0; i < FAILURES_PER_CLIENT; i++) expect((await postLogin(api, credentials('wrong'))).status).toBe(401);
    const refused = await postLogin(api, credentials());
    expect(refused.status).toBe(429);
    expect(await refused.text()).toMatch(/Too many failed sign-ins\. Try again in \d+ minutes?\./);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(refused.headers.getSetCookie().some((cookie) => cookie.startsWith('conveyor_session='))).toBe(false);
  });

  it('refuses a user name guessed from many clients (addresses from a trusted proxy)', async () => {
    const api = newApi({ TRUST_PROXY: 'true' });
    for (let i = 0; i < FAILURES_PER_USER; i++) {
      expect((await postLogin(api, credentials('wrong'), { 'x-forwarded-for': `203.0.113.${i}` })).status).toBe(401);
    }
    expect((await postLogin(api, credentials(), { 'x-forwarded-for': '198.51.100.7' })).status).toBe(429);
    expect((await postLogin(api, credentials('x', 'someone-else'), { 'x-forwarded-for': '198.51.100.7' })).status).toBe(401);
  });

  it('does not believe X-Forwarded-For without TRUST_PROXY: a new claimed address is the same client', async () => {
    const api = newApi();
    for (let i = 0; i < FAILURES_PER_CLIENT; i++) await postLogin(api, credentials('wrong', `user-${i}`), { 'x-forwarded-for': `203.0.113.${i}` });
    expect((await postLogin(api, credentials(), { 'x-forwarded-for': '198.51.100.99' })).status).toBe(429);
  });

  it('clears a client’s failures when it signs in', async () => {
    const api = newApi();
    for (let i = 0; i < FAILURES_PER_CLIENT - 1; i++) await postLogin(api, credentials('wrong'));
    expect((await postLogin(api, credentials())).status).toBe(303);
    for (let i = 0; i < FAILURES_PER_CLIENT - 1; i++) expect((await postLogin(api, credentials('wrong'))).status).toBe(401);
  });
});

describe('TRUST_PROXY', () => {
  it('marks the session cookie Secure on X-Forwarded-Proto: https only when the proxy is trusted', async () => {
    const secureCookie = async (api: TestApi) =>
      (await postLogin(api, credentials(), { 'x-forwarded-proto': 'https' })).headers.getSetCookie().find((c) => c.startsWith('conveyor_session='))!;
    expect(await secureCookie(newApi())).not.toMatch(/;\s*Secure/i);
    expect(await secureCookie(newApi({ TRUST_PROXY: 'true' }))).toMatch(/;\s*Secure/i);
  });
});

describe('security headers', () => {
  const api = newApi();

  const expectFrameProtectionNosniffAndReferrerPolicy = (response: Response, name: string) => {
    expect(response.headers.get('x-frame-options'), name).toBe('DENY');
    expect(response.headers.get('x-content-type-options'), name).toBe('nosniff');
    expect(response.headers.get('referrer-policy'), name).toBe('same-origin');
  };

  it('sends a strict CSP, frame protection, nosniff and a referrer policy on console, login and docs pages', async () => {
    const session = await signIn(api);
    const answers = {
      login: await api.app.request('/login'),
      runs: await session.get('/runs'),
      agentForm: await session.get('/agents/new'),
      stylesheet: await api.app.request('/console-assets/console.css'),
      docs: await api.app.request('/docs'),
    };
    for (const [name, response] of Object.entries(answers)) {
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, name).toContain("default-src 'self'");
      expect(csp, name).toContain("script-src 'self'");
      expect(csp, name).toContain("style-src 'self'");
      expect(csp, name).toContain("frame-ancestors 'none'");
      expect(csp, name).not.toContain('unsafe-inline');
      expectFrameProtectionNosniffAndReferrerPolicy(response, name);
    }
  });

  it('sends API answers a CSP that allows nothing, with frame protection, nosniff and a referrer policy', async () => {
    for (const [name, response] of Object.entries({
      list: await api.call('GET', '/v1/agents'),
      refused: await api.app.request('/v1/agents'),
      missing: await api.call('GET', '/v1/runs/run_missing'),
    })) {
      expect(response.headers.get('content-security-policy'), name).toBe("default-src 'none'; frame-ancestors 'none'");
      expect(response.headers.get('cross-origin-resource-policy'), name).toBe('same-origin');
      expectFrameProtectionNosniffAndReferrerPolicy(response, name);
    }
  });

  it('serves console pages without inline script or style', async () => {
    const session = await signIn(api);
    for (const path of ['/login', '/runs', '/agents', '/agents/new', '/pipelines', '/pipelines/new', '/artifacts', '/settings']) {
      const response = path === '/login' ? await api.app.request(path) : await session.get(path);
      const html = await response.text();
      expect(html, path).not.toMatch(/\sstyle="|<style|\son[a-z]+="/i);
      for (const script of html.matchAll(/<script\b[^>]*>/g)) expect(script[0], path).toMatch(/\ssrc="\//);
    }
  });
});

describe('the API reference', () => {
  const api = newApi();

  it('is served from the pinned swagger-ui-dist files, loading nothing from another origin', async () => {
    const html = await (await api.app.request('/docs')).text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>(?!<\/script>)|<style|\sstyle="/);
    const assets = [...html.matchAll(/(?:src|href)="(\/docs\/assets\/[^"]+)"/g)].map((match) => match[1]!);
    expect(assets.sort()).toEqual(['/docs/assets/favicon-32x32.png', '/docs/assets/reference.js', '/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']);
    for (const asset of assets) {
      const response = await api.app.request(asset);
      expect(response.status, asset).toBe(200);
      expect((await response.arrayBuffer()).byteLength, asset).toBeGreaterThan(0);
    }
    expect(await (await api.app.request('/docs/assets/reference.js')).text()).toContain("'/openapi.json'");
    expect((await api.app.request('/docs/assets/package.json')).status).toBe(404);
    expect((await api.app.request('/docs/assets/..%2F..%2Fpackage.json')).status).toBe(404);
  });
});

describe('client addresses behind a trusted proxy', () => {
  it('count the address the proxy saw, not one the client put first in X-Forwarded-For', async () => {
    const api = newApi({ TRUST_PROXY: 'true' });
    for (let i = 0; i < FAILURES_PER_CLIENT; i++) {
      await postLogin(api, credentials('wrong', `user-${i}`), { 'x-forwarded-for': `10.9.9.${i}, 203.0.113.50` });
    }
    expect((await postLogin(api, credentials(), { 'x-forwarded-for': '10.1.1.1, 203.0.113.50' })).status).toBe(429);
    expect((await postLogin(api, credentials(), { 'x-forwarded-for': '203.0.113.51' })).status).toBe(303);
  });
});
