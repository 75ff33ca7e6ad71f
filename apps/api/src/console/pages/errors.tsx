/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import { ApiError } from '../../errors.ts';
import { Notice } from '../components/notice.tsx';
import type { ConsoleEnv } from '../env.ts';
import { Layout, type Section } from '../layout.tsx';

export function renderForbidden() {
  return (
    <Layout title="Refused">
      <h1>Refused</h1>
      <Notice kind="error">
        This form was not accepted: it did not come from a page of this console, or the page is too old. Go back, reload
        the page and try again.
      </Notice>
    </Layout>
  );
}

export function notFoundPage(c: Context<ConsoleEnv>, resource: string, section?: Section) {
  return c.html(
    <Layout title={`${resource} not found`} session={c.get('session')} {...(section ? { section } : {})}>
      <h1>{`${resource} not found`}</h1>
      <Notice kind="error">{`This ${resource.toLowerCase()} does not exist, or it was deleted.`}</Notice>
    </Layout>,
    404,
  );
}

/** For `get…(…).catch(notFoundOr)`: a 404 from a service becomes `null`; anything else propagates. */
export function notFoundOr(error: unknown): null {
  if (error instanceof ApiError && error.status === 404) return null;
  throw error;
}
