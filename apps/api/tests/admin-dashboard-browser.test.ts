import { mkdirSync } from 'node:fs';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { root, startBrowserStack, type BrowserStack } from './browser-stack.ts';

const screenshots = `${root}test-output/admin/`;
/** Set ADMIN_README_SCREENSHOT=1 to refresh the README's docs/screenshots/queues.png (the runs queue, completed jobs). */
const readmeScreenshot = process.env.ADMIN_README_SCREENSHOT === '1' ? `${root}docs/screenshots/queues.png` : null;

/** The page may load nothing from outside this machine (bull-board links a web font). */
async function localOnly(context: BrowserContext): Promise<void> {
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    return hostname === '127.0.0.1' || hostname === 'localhost' ? route.continue() : route.abort();
  });
}

describe('the queue dashboard in a real browser', () => {
  let stack: BrowserStack;
  const runIds: { succeeded: string[]; failed: string } = { succeeded: [], failed: '' };

  async function waitForRun(id: string, status: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const run = await stack.call<{ status: string }>('GET', `/v1/runs/${id}`);
      if (run.status === status) return;
      if (Date.now() > deadline) throw new Error(`run ${id} is ${run.status}, not ${status}\n${stack.output()}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    // Each test signs in on pages of its own.
    stack = await startBrowserStack({ name: 'admin', emulator: { tokensPerSecond: 500 }, env: { PROVIDER_MAX_RETRIES: '0' }, signIn: false });

    const created = async (response: Promise<{ id: string }>) => (await response).id;
    const agentId = await created(stack.call('POST', '/v1/agents', { name: 'summarizer', model: 'claude-sonnet-4-5' }));
    const pipelineId = await created(stack.call('POST', '/v1/pipelines', { name: 'summarize', steps: [{ agentId }] }));
    const submit = (input: string) => created(stack.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input }));

    runIds.succeeded.push(await submit('harbour report'), await submit('lighthouse log'));
    for (const id of runIds.succeeded) await waitForRun(id, 'succeeded');
    stack.emulator.script({ provider: 'anthropic', status: 400, message: 'prompt is too long' });
    runIds.failed = await submit('an oversized prompt');
    await waitForRun(runIds.failed, 'failed');
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  });

  /** CSP violations and failed requests the page reported, for asserting none happened. */
  const problems = new WeakMap<Page, string[]>();

  /** A browser page signed in through the console's login form (the dashboard has no login of its own). */
  async function signedInPage(): Promise<Page> {
    const context = await stack.browser.newContext({ viewport: { width: 1280, height: 800 } });
    await localOnly(context);
    const page = await context.newPage();
    const seen: string[] = [];
    problems.set(page, seen);
    page.on('console', (message) => {
      if (message.type() === 'error') seen.push(message.text());
    });
    await page.goto(`${stack.base}/admin/queues`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await stack.signIn(page);
    await page.waitForURL(`${stack.base}/admin/queues`);
    return page;
  }

  it('sends a browser without a session to the console login, and refuses the dashboard API', async () => {
    const context = await stack.browser.newContext();
    for (const path of ['/admin/queues', '/admin/queues/queue/runs']) {
      const response = await context.request.get(`${stack.base}${path}`, { maxRedirects: 0 });
      expect(response.status(), path).toBe(303);
      expect(response.headers()['location'], path).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect((await context.request.get(`${stack.base}/admin/queues/api/queues`, { maxRedirects: 0 })).status()).toBe(401);
    await context.close();
  });

  it('signs in through the console and shows the runs, webhooks and schedules queues, with no CSP violation', async () => {
    const page = await signedInPage();
    await expect.poll(() => page.getByRole('link', { name: /^runs/i }).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByRole('link', { name: /^webhooks/i }).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByRole('link', { name: /^schedules/i }).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    expect(problems.get(page)!.filter((text) => /Content Security Policy|Refused to/i.test(text))).toEqual([]);
    await page.screenshot({ path: `${screenshots}overview.png`, fullPage: true });
    await page.context().close();
  }, 90_000);

  it('lists the jobs of finished runs under completed and opens one, and shows the failed run with its error', async () => {
    const page = await signedInPage();
    await page.goto(`${stack.base}/admin/queues/queue/runs?status=completed`);
    for (const id of runIds.succeeded) {
      await expect.poll(() => page.getByText(id).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    }
    await page.screenshot({ path: `${screenshots}runs-completed.png`, fullPage: true });
    if (readmeScreenshot) await page.screenshot({ path: readmeScreenshot });

    await page.goto(`${stack.base}/admin/queues/queue/runs/${runIds.succeeded[0]}`);
    await expect.poll(() => page.getByText(runIds.succeeded[0]!).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: `${screenshots}run-job.png`, fullPage: true });

    await page.goto(`${stack.base}/admin/queues/queue/runs?status=failed`);
    await expect.poll(() => page.getByText(runIds.failed).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByText(/prompt is too long/).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByRole('button', { name: /retry/i }).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: `${screenshots}runs-failed.png`, fullPage: true });
    await page.context().close();
  }, 90_000);
});
