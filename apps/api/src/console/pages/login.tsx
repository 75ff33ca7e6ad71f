/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { Hono } from 'hono';
import { getSignedCookie, setSignedCookie, deleteCookie } from 'hono/cookie';
import { randomBytes } from 'node:crypto';
import { credentialsMatch } from '../auth/credentials.ts';
import { consoleGate, CSRF_FIELD, fromThisSite, tokensEqual } from '../auth/middleware.ts';
import { loginThrottle, waitText } from '../auth/login-throttle.ts';
import { consoleNextPath } from '../auth/next-path.ts';
import { readSession, sessionSigningKey, startSession } from '../auth/session.ts';
import { clientAddress } from '../../middleware/client.ts';
import { CsrfField } from '../components/csrf-field.tsx';
import { Notice } from '../components/notice.tsx';
import type { ConsoleEnv } from '../env.ts';
import { Layout } from '../layout.tsx';
import { renderForbidden } from './errors.tsx';

/** Before a session exists, the login form carries a token from its own short-lived signed cookie. */
const LOGIN_CSRF_COOKIE = 'conveyor_login_csrf';

function LoginPage({ token, next, error }: { token: string; next: string; error?: string }) {
  return (
    <Layout title="Sign in">
      <div class="login panel">
        <h1>Conveyor</h1>
        {error && <Notice kind="error">{error}</Notice>}
        <form method="post" action="/login">
          <CsrfField token={token} />
          <input type="hidden" name="next" value={next} />
          <label for="user">User</label>
          <input id="user" type="text" name="user" autocomplete="username" required autofocus />
          <label for="password">Password</label>
          <input id="password" type="password" name="password" autocomplete="current-password" required />
          <div class="actions">
            <button type="submit">Sign in</button>
          </div>
        </form>
      </div>
    </Layout>
  );
}

export function loginRoutes() {
  const app = new Hono<ConsoleEnv>();
  app.use('/login', consoleGate);

  app.get('/login', async (c) => {
    const config = c.get('deps').config;
    const next = consoleNextPath(c.req.query('next'));
    if (await readSession(c, c.get('deps'))) return c.redirect(next, 303);
    const token = randomBytes(24).toString('base64url');
    await setSignedCookie(c, LOGIN_CSRF_COOKIE, token, sessionSigningKey(config), {
      path: '/login',
      httpOnly: true,
      sameSite: 'Strict',
      maxAge: 3600,
    });
    return c.html(<LoginPage token={token} next={next} />);
  });

  app.post('/login', async (c) => {
    const config = c.get('deps').config;
    const form = await c.req.parseBody();
    if (!(await fromThisSite(c))) return c.html(renderForbidden(), 403);
    const expected = await getSignedCookie(c, sessionSigningKey(config), LOGIN_CSRF_COOKIE);
    const token = form[CSRF_FIELD];
    if (!expected || typeof token !== 'string' || !tokensEqual(token, expected)) return c.html(renderForbidden(), 403);

    const user = typeof form.user === 'string' ? form.user : '';
    const password = typeof form.password === 'string' ? form.password : '';
    const next = consoleNextPath(typeof form.next === 'string' ? form.next : undefined);
    const client = clientAddress(c, config.TRUST_PROXY);
    const throttle = loginThrottle(c.get('deps'));
    const throttled = await throttle.check(client, user);
    if (throttled) {
      c.get('logger').warn({ event: 'console.login_throttled' }, 'console sign-in throttled');
      c.header('Retry-After', String(throttled.retryAfterSeconds));
      const error = `Too many failed sign-ins. Try again in ${waitText(throttled.retryAfterSeconds)}.`;
      return c.html(<LoginPage token={expected} next={next} error={error} />, 429);
    }
    if (!credentialsMatch(config, user, password)) {
      await throttle.failed(client, user);
      c.get('logger').warn({ event: 'console.login_failed' }, 'console sign-in refused');
      return c.html(<LoginPage token={expected} next={next} error="Wrong user name or password." />, 401);
    }
    await throttle.succeeded(client);
    deleteCookie(c, LOGIN_CSRF_COOKIE, { path: '/login' });
    await startSession(c, c.get('deps'), config.ADMIN_USER);
    return c.redirect(next, 303);
  });

  return app;
}
