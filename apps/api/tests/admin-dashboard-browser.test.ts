import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { serve, type ServerType } from '@hono/node-server';
import { testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi, type TestApi } from '../src/test-support.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const screenshots = `${root}test-output/admin/`;
/** Set ADMIN_README_SCREENSHOT=1 to refresh the README's docs/screenshots/queues.png (the runs queue, completed jobs). */
const readmeScreenshot = process.env.ADMIN_README_SCREENSHOT === '1' ? `${root}docs/screenshots/queues.png` : null;
const ADMIN = { ADMIN_USER: 'ops', ADMIN_PASSWORD: 'dashboard-browser-secret' };
const chromiumArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

let workerOutput = '';

function startWorker(env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', `${root}apps/worker/src/main.ts`], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (workerOutput += chunk.toString()));
  return child;
}

async function stopWorker(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/** The page may load nothing from outside this machine (bull-board links a web font). */
async function localOnly(context: BrowserContext): Promise<void> {
  await context.route('**/*', (route) => {
    const { hostname } = new URL(route.request().url());
    return hostname === '127.0.0.1' || hostname === 'localhost' ? route.continue() : route.abort();
  });
}

describe('the queue dashboard in a real browser', () => {
  const prefix = testPrefix('admin');
  let emulator: Emulator;
  let api: TestApi;
  let server: ServerType;
  let baseUrl: string;
  let worker: ChildProcess;
  let browser: Browser;
  const runIds: { succeeded: string[]; failed: string } = { succeeded: [], failed: '' };

  async function waitForRun(id: string, status: string): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const run = (await (await api.call('GET', `/v1/runs/${id}`)).json()) as { status: string };
      if (run.status === status) return;
      if (Date.now() > deadline) throw new Error(`run ${id} is ${run.status}, not ${status}\n${workerOutput}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    emulator = await startEmulator({ tokensPerSecond: 500 });
    const providerEnv = {
      REDIS_PREFIX: prefix,
      ...emulator.providerEnv(),
    };
    api = createTestApi({ ...ADMIN, ...providerEnv });
    server = await new Promise<ServerType>((resolve) => {
      const listening = serve({ fetch: api.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(listening));
    });
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    // No reconciler: it would adopt queued runs other test files left in the shared test database.
    worker = startWorker({ ...providerEnv, PROVIDER_MAX_RETRIES: '0', RECONCILE_INTERVAL_SECONDS: '0', LOG_FORMAT: 'json', LOG_LEVEL: 'info' });

    const created = async (response: Promise<Response>) => ((await (await response).json()) as { id: string }).id;
    const agentId = await created(api.call('POST', '/v1/agents', { name: 'summarizer', model: 'claude-sonnet-4-5' }));
    const pipelineId = await created(api.call('POST', '/v1/pipelines', { name: 'summarize', steps: [{ agentId }] }));
    const submit = (input: string) => created(api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input }));

    runIds.succeeded.push(await submit('harbour report'), await submit('lighthouse log'));
    for (const id of runIds.succeeded) await waitForRun(id, 'succeeded');
    emulator.script({ provider: 'anthropic', status: 400, message: 'prompt is too long' });
    runIds.failed = await submit('an oversized prompt');
    await waitForRun(runIds.failed, 'failed');

    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: chromiumArgs });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await stopWorker(worker);
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await api?.close();
    await emulator?.close();
  });

  /** CSP violations and failed requests the page reported, for asserting none happened. */
  const problems = new WeakMap<Page, string[]>();

  /** A browser page signed in through the console's login form (the dashboard has no login of its own). */
  async function signedInPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    await localOnly(context);
    const page = await context.newPage();
    const seen: string[] = [];
    problems.set(page, seen);
    page.on('console', (message) => {
      if (message.type() === 'error') seen.push(message.text());
    });
    await page.goto(`${baseUrl}/admin/queues`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await page.fill('#user', ADMIN.ADMIN_USER);
    await page.fill('#password', ADMIN.ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${baseUrl}/admin/queues`);
    return page;
  }

  it('sends a browser without a session to the console login, and refuses the dashboard API', async () => {
    const context = await browser.newContext();
    for (const path of ['/admin/queues', '/admin/queues/queue/runs']) {
      const response = await context.request.get(`${baseUrl}${path}`, { maxRedirects: 0 });
      expect(response.status(), path).toBe(303);
      expect(response.headers()['location'], path).toBe(`/login?next=${encodeURIComponent(path)}`);
    }
    expect((await context.request.get(`${baseUrl}/admin/queues/api/queues`, { maxRedirects: 0 })).status()).toBe(401);
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
    await page.goto(`${baseUrl}/admin/queues/queue/runs?status=completed`);
    for (const id of runIds.succeeded) {
      await expect.poll(() => page.getByText(id).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    }
    await page.screenshot({ path: `${screenshots}runs-completed.png`, fullPage: true });
    if (readmeScreenshot) await page.screenshot({ path: readmeScreenshot });

    await page.goto(`${baseUrl}/admin/queues/queue/runs/${runIds.succeeded[0]}`);
    await expect.poll(() => page.getByText(runIds.succeeded[0]!).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: `${screenshots}run-job.png`, fullPage: true });

    await page.goto(`${baseUrl}/admin/queues/queue/runs?status=failed`);
    await expect.poll(() => page.getByText(runIds.failed).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByText(/prompt is too long/).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await expect.poll(() => page.getByRole('button', { name: /retry/i }).count(), { timeout: 30_000 }).toBeGreaterThan(0);
    await page.screenshot({ path: `${screenshots}runs-failed.png`, fullPage: true });
    await page.context().close();
  }, 90_000);
});
