import type { TestApi } from '../src/test-support.ts';

export const ADMIN = { ADMIN_USER: 'admin', ADMIN_PASSWORD: 'correct horse battery staple' };
export const ORIGIN = 'http://localhost';

/** The `name=value` pairs of a response's Set-Cookie headers, ready for a Cookie header. */
export function cookiesOf(response: Response): string {
  return response.headers
    .getSetCookie()
    .map((cookie) => cookie.split(';')[0]!)
    .filter((pair) => !pair.endsWith('='))
    .join('; ');
}

export function csrfTokenIn(html: string): string {
  const match = /name="_csrf" value="([^"]+)"/.exec(html);
  if (!match) throw new Error('no CSRF field on the page');
  return match[1]!;
}

export interface ConsoleSession {
  cookie: string;
  /** Where the sign-in redirected to. */
  landedOn: string;
  csrf: string;
  get: (path: string) => Promise<Response>;
  post: (path: string, fields: Record<string, string | string[]>, options?: { csrf?: string | null; origin?: string | null }) => Promise<Response>;
}

export function formBody(fields: Record<string, string | string[]>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [key, value] of Object.entries(fields)) for (const item of [value].flat()) body.append(key, item);
  return body;
}

/** Signs in through the login form, as a browser would. */
export async function signIn(api: TestApi, user = ADMIN.ADMIN_USER, password = ADMIN.ADMIN_PASSWORD, next = '/agents'): Promise<ConsoleSession> {
  const page = await api.app.request('/login');
  const loginCookie = cookiesOf(page);
  const response = await api.app.request('/login', {
    method: 'POST',
    headers: { cookie: loginCookie, origin: ORIGIN, 'content-type': 'application/x-www-form-urlencoded' },
    body: formBody({ _csrf: csrfTokenIn(await page.text()), user, password, next }),
  });
  if (response.status !== 303) throw new Error(`sign-in failed: ${response.status}`);
  const cookie = cookiesOf(response);
  const csrf = csrfTokenIn(await (await api.app.request('/agents/new', { headers: { cookie } })).text());
  return {
    cookie,
    landedOn: response.headers.get('location') ?? '',
    csrf,
    get: async (path) => api.app.request(path, { headers: { cookie } }),
    post: async (path, fields, options = {}) => {
      const token = options.csrf === undefined ? csrf : options.csrf;
      const origin = options.origin === undefined ? ORIGIN : options.origin;
      return api.app.request(path, {
        method: 'POST',
        headers: { cookie, 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
        body: formBody({ ...fields, ...(token ? { _csrf: token } : {}) }),
      });
    },
  };
}
