import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { testPrefix } from '@conveyor/core/testing';
import { freePort } from '@conveyor/core';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { formatCost, formatDuration, formatTokens } from '../src/console/format.ts';
import { stopProcess as stop } from './child-process.ts';
import { ADMIN } from './console-session.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
/** Set CONSOLE_README_SCREENSHOTS=1 to refresh the README's screenshots of these pages in docs/screenshots/. */
const readmeScreenshots = process.env.CONSOLE_README_SCREENSHOTS === '1' ? `${root}docs/screenshots/` : null;
const TOKEN = 'console-run-page-token';

/** Its own database (the default model is a global setting other files change), named after the test database. */
const databaseUrl = (() => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `${url.pathname}_run_page`;
  return url.toString();
})();

const findings = ['## Findings', '', 'The first point is **bold**.', '', ...Array.from({ length: 30 }, (_, i) => `- point ${i + 1} of the list`)].join('\n');

let output = '';
function startProcess(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += `[${entry}] ${chunk}`));
  child.stderr?.on('data', (chunk: Buffer) => (output += `[${entry}] ${chunk}`));
  return child;
}


describe('console run page in a browser', () => {
  let emulator: Emulator;
  let api: ChildProcess;
  let worker: ChildProcess;
  let receiver: Server;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  const receiverAnswers = [500];
  const receivedWebhookIds: string[] = [];
  const notFound: string[] = [];

  const call = async <T,>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (response.status === 204 ? undefined : await response.json()) as T;
  };
  const submit = (pipelineId: string, input: string) => call<{ id: string }>('POST', `/v1/pipelines/${pipelineId}/runs`, { input });

  beforeAll(async () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const { createDatabase } = await import('@conveyor/core');
    const db = createDatabase(databaseUrl, { max: 1 });
    await db.$executeRawUnsafe('TRUNCATE agents, pipelines, pipeline_steps, runs, run_steps, artifacts, provider_credentials, settings, webhook_deliveries CASCADE');
    await db.$disconnect();

    receiver = createServer((req, res) => {
      receivedWebhookIds.push(String(req.headers['webhook-id']));
      req.resume();
      req.on('end', () => res.writeHead(receiverAnswers.shift() ?? 204).end());
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    emulator = await startEmulator({ host: '127.0.0.1' });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_PREFIX: testPrefix('console-run-page'),
      ...ADMIN,
      API_TOKENS: TOKEN,
      ENCRYPTION_KEY: 'cd'.repeat(32),
      ...emulator.providerEnv('emulator-key'),
      WEBHOOK_ALLOW_PRIVATE: 'true',
      // One retry, an hour later: only Redeliver brings the second attempt sooner.
      WEBHOOK_RETRY_SCHEDULE: '3600',
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
      RECONCILE_INTERVAL_SECONDS: '0',
    };
    api = startProcess('apps/api/src/server.ts', env);
    worker = startProcess('apps/worker/src/main.ts', env);
    const deadline = Date.now() + 90_000;
    while (!(await fetch(`${base}/readyz`).then((r) => r.ok, () => false))) {
      if (Date.now() > deadline) throw new Error(`the API did not become ready\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    context = await browser.newContext({ viewport: { width: 1280, height: 900 }, acceptDownloads: true });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = await context.newPage();
    page.on('response', (response) => {
      if (response.status() === 404) notFound.push(response.url());
    });
    await page.goto(`${base}/login`);
    await page.fill('#user', ADMIN.ADMIN_USER);
    await page.fill('#password', ADMIN.ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.pathname !== '/login');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([stop(api), stop(worker)]);
    await emulator?.close();
    receiver?.close();
  });

  it('follows a run live: Markdown while streaming, first token, exact costs, copy and download, webhook redelivery', { timeout: 120_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output));
    // A new agent starts on the first configured model: no default is set.
    await page.goto(`${base}/agents/new`);
    const firstModel = await page.locator('#model optgroup').first().locator('option').first().getAttribute('value');
    expect(await page.locator('#model').inputValue()).toBe(firstModel);
    expect(await page.locator('#model option[value="__default__"]').count()).toBe(0);

    const agent = await call<{ id: string }>('POST', '/v1/agents', { name: 'Researcher', model: 'claude-sonnet-4-5' });
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const pipeline = await call<{ id: string }>('POST', '/v1/pipelines', { name: 'Live', steps: [{ agentId: agent.id }], webhookUrl: hook });

    emulator.script({ provider: 'anthropic', reply: findings, tokensPerSecond: 40 });
    const run = await submit(pipeline.id, 'What did you find?');
    await page.goto(`${base}/runs/${run.id}`);
    // Rendered as Markdown while the step is still streaming, as it will be at the end.
    // Locators, not waitForFunction: its string predicates run through eval, which the page's CSP forbids.
    await page.locator('#step-0-output h2', { hasText: 'Findings' }).waitFor({ timeout: 30_000 });
    await page.locator('#step-0-status[data-status="running"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#step-0-output strong').first().textContent()).toBe('bold');
    expect(await page.locator('#step-0-ttft').textContent()).toMatch(/^first token \d/);
    // Tokens and cost so far while it streams, marked as estimates until the step ends.
    await page.locator('#step-0-usage', { hasText: /^≈ [\d,]+ in · [\d,]+ out$/ }).waitFor({ timeout: 30_000 });
    await page.locator('#step-0-cost', { hasText: /^≈ \$0\.\d+$/ }).waitFor({ timeout: 30_000 });
    await page.waitForSelector('#run-status[data-status="succeeded"]', { timeout: 60_000 });
    expect(await page.locator('#step-0-output h2').textContent()).toBe('Findings');
    expect(await page.locator('#step-0-duration').textContent()).toMatch(/^\d+(\.\d)? m?s$/);

    // Costs to the last digit the API gives.
    const ended = await call<{ cost: string; steps: { cost: string; output: string; usage: { inputTokens: number; outputTokens: number }; timeToFirstTokenMs: number }[] }>(
      'GET',
      `/v1/runs/${run.id}`,
    );
    expect(await page.locator('#step-0-cost').textContent()).toBe(formatCost(ended.steps[0]!.cost));
    expect(await page.locator('#step-0-usage').textContent()).toBe(formatTokens(ended.steps[0]!.usage));
    // The time to first token the step kept, as the page shows it once the run has ended.
    expect(ended.steps[0]!.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(await page.locator('#step-0-ttft').textContent()).toBe(`first token ${formatDuration(ended.steps[0]!.timeToFirstTokenMs)}`);
    await page.reload();
    expect(await page.locator('#step-0-ttft').textContent()).toBe(`first token ${formatDuration(ended.steps[0]!.timeToFirstTokenMs)}`);
    expect(await page.locator('#run-cost').textContent()).toBe(formatCost(ended.cost));
    expect(formatCost(ended.cost).replace(/0+$/, '')).toBe(`$${ended.cost}`.replace(/0+$/, ''));

    // Copy and download give the raw text, not the rendered HTML.
    await page.click('#step-0-output-actions button[data-copy]');
    await expect.poll(() => page.evaluate<string>('navigator.clipboard.readText()')).toBe(ended.steps[0]!.output);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#step-0-output-actions button[data-download]')]);
    expect(download.suggestedFilename()).toBe(`${run.id}-step-1.md`);
    expect(readFileSync((await download.path())!, 'utf8')).toBe(ended.steps[0]!.output);

    // The receiver refused the first attempt; the next is an hour away, so redeliver it now.
    await expect
      .poll(async () => (await page.reload(), page.locator('#webhook-deliveries tr[data-delivery]').count()), { timeout: 30_000 })
      .toBe(1);
    expect(await page.locator('#webhook-deliveries').textContent()).toContain('HTTP 500');
    await page.click('#redeliver-form button');
    await page.waitForURL(/redelivered=1/);
    await expect
      .poll(async () => (await page.reload(), page.locator('#webhook-deliveries tr[data-delivery] .badge.succeeded').count()), { timeout: 30_000 })
      .toBe(1);
    // Delivered: it can still be sent once more, as one more attempt with the same webhook-id.
    expect(await page.locator('#redeliver-form button').textContent()).toBe('Send again');
    await page.click('#redeliver-form button');
    await page.waitForURL(/redelivered=1/);
    await expect
      .poll(async () => (await page.reload(), page.locator('#webhook-deliveries tr[data-delivery] .badge.succeeded').count()), { timeout: 30_000 })
      .toBe(2);
    expect(receivedWebhookIds).toEqual([`msg_${run.id}_succeeded`, `msg_${run.id}_succeeded`, `msg_${run.id}_succeeded`]);
    if (readmeScreenshots) {
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: `${readmeScreenshots}run-page.png` });
    }
  });

  it('keeps the partial output when a run is canceled, and lists failures with their reason and input', { timeout: 90_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output));
    const agent = await call<{ id: string }>('POST', '/v1/agents', { name: 'Slow', model: 'claude-haiku-4-5' });
    const pipeline = await call<{ id: string }>('POST', '/v1/pipelines', { name: 'Slow one', steps: [{ agentId: agent.id }] });

    emulator.script({ provider: 'anthropic', reply: `Partial ${'word '.repeat(400)}`, tokensPerSecond: 20 });
    const run = await submit(pipeline.id, 'take your time');
    await page.goto(`${base}/runs/${run.id}`);
    await page.locator('#step-0-output', { hasText: 'Partial word' }).waitFor({ timeout: 30_000 });
    await page.evaluate('window.samePage = true');
    await page.click('#cancel-form button');
    await page.waitForSelector('#run-status[data-status="canceled"]', { timeout: 30_000 });
    expect(await page.evaluate('window.samePage')).toBe(true);
    expect(await page.locator('#step-0-output').textContent()).toMatch(/^Partial word/);
    expect(await page.locator('#step-0-status').getAttribute('data-status')).toBe('canceled');
    // Stored too: the page read afresh shows the same partial text.
    await page.reload();
    expect(await page.locator('#step-0-output').textContent()).toMatch(/^Partial word/);

    emulator.script({ provider: 'anthropic', status: 400, message: 'prompt refused by the test' });
    const failed = await submit(pipeline.id, 'a doomed request with a long input that the list shortens '.repeat(3));
    await expect.poll(async () => (await call<{ status: string }>('GET', `/v1/runs/${failed.id}`)).status, { timeout: 30_000 }).toBe('failed');
    await page.goto(`${base}/runs`);
    const row = page.locator(`tr[data-run="${failed.id}"]`);
    expect(await row.locator('.run-reason').textContent()).toMatch(/^step 1: provider_error: .*prompt refused by the test/);
    expect(await row.locator('.run-input').textContent()).toMatch(/^a doomed request with a long input .*…$/);
    // The canceled run spent nothing: $0.00, not an unknown cost.
    expect(await page.locator(`tr[data-run="${run.id}"] td[data-label="Cost"]`).textContent()).toBe('$0.00');
    if (readmeScreenshots) await page.screenshot({ path: `${readmeScreenshots}runs.png` });

    // An orphaned pipeline: the deleted agent is named, and its Run form is disabled.
    await call('DELETE', `/v1/agents/${agent.id}`);
    await page.goto(`${base}/pipelines/${pipeline.id}`);
    expect(await page.locator('.step.missing .badge.orphaned').textContent()).toBe('deleted agent');
    expect(await page.locator('.step.missing').textContent()).toContain(agent.id);
    expect(await page.locator('#run-button').isDisabled()).toBe(true);

    // Nothing the console asked for was missing (favicon included).
    expect(notFound).toEqual([]);
    const favicon = await fetch(`${base}/favicon.ico`);
    expect(favicon.headers.get('content-type')).toBe('image/svg+xml');
  });
});
