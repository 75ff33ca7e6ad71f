import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { testPrefix } from '@conveyor/core/testing';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { stopProcess as stop } from './child-process.ts';
import { ADMIN } from './console-session.ts';
import { formatCost } from '../src/console/format.ts';
import { freePort } from '@conveyor/core';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const screenshots = `${root}test-output/console/`;
/** Set CONSOLE_README_SCREENSHOTS=1 to refresh the README's screenshots in docs/screenshots/. */
const readmeScreenshots = process.env.CONSOLE_README_SCREENSHOTS === '1' ? `${root}docs/screenshots/` : null;

/**
 * Its own database: provider keys and the default model are global settings other test files change.
 * Named after the test database, so checkouts that test side by side with their own databases never share it.
 */
const databaseUrl = (() => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `${url.pathname}_console`;
  return url.toString();
})();

const claudeReply = [
  '## Findings',
  '',
  'The request asks for a **two-step** review. Key points:',
  '',
  '1. Each step uses its own agent and model.',
  '2. Output streams live, then is stored as an artifact.',
  '3. Cost is computed in decimal, never floating point.',
  '',
  'Raw HTML such as <b>this</b> is shown as text.',
].join('\n');
const gptReply = ['### Summary', '', '- Two agents, two providers, one pipeline.', '- The run finished with a stored artifact and its cost.', '', '> Reviewed and approved.'].join('\n');


/** Output of the spawned processes, shown when the test fails. */
let processOutput = '';

function startProcess(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const collect = (chunk: Buffer) => {
    processOutput += `[${entry}] ${chunk}`;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  child.once('exit', (code, signal) => collect(Buffer.from(`exited (${code ?? signal})\n`)));
  return child;
}

async function waitForHttp(url: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer\n${processOutput}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}


describe('console in a browser', () => {
  let emulator: Emulator;
  let api: ChildProcess;
  let worker: ChildProcess;
  let browser: Browser;
  let page: Page;
  /** What the browser reported blocking under the console's CSP: nothing, or inline code is back. */
  const cspViolations: string[] = [];
  let base: string;

  const shot = async (name: string, options: { readme?: string; fullPage?: boolean } = {}) => {
    await page.screenshot({ path: `${screenshots}${name}.png`, fullPage: options.fullPage ?? true });
    if (readmeScreenshots && options.readme) await page.screenshot({ path: `${readmeScreenshots}${options.readme}.png`, fullPage: false });
  };

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    if (readmeScreenshots) mkdirSync(readmeScreenshots, { recursive: true });
    execFileSync(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], {
      cwd: root,
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    emulator = await startEmulator({ host: '127.0.0.1', tokensPerSecond: 25 });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_PREFIX: testPrefix('console'),
      ...ADMIN,
      API_TOKENS: 'console-browser-token',
      ENCRYPTION_KEY: 'ab'.repeat(32),
      ANTHROPIC_API_KEY: 'emulator-anthropic-key',
      ANTHROPIC_BASE_URL: emulator.anthropicBaseUrl,
      OPENAI_API_KEY: '',
      OPENAI_BASE_URL: emulator.openaiBaseUrl,
      PROVIDER_ALLOW_PRIVATE: 'true',
      PORT: String(port),
      HOST: '127.0.0.1',
      WORKER_CONCURRENCY: '2',
      LOG_LEVEL: 'warn',
      LOG_FORMAT: 'json',
    };
    // A clean slate in this file's own database (nobody else uses it), so the screenshots show a fresh console.
    const { createDatabase } = await import('@conveyor/core');
    const db = createDatabase(databaseUrl, { max: 1 });
    await db.$executeRawUnsafe(
      'TRUNCATE agents, pipelines, pipeline_steps, runs, run_steps, artifacts, provider_credentials, settings, webhook_deliveries CASCADE',
    );
    await db.$disconnect();

    api = startProcess('apps/api/src/server.ts', env);
    worker = startProcess('apps/worker/src/main.ts', env);
    await waitForHttp(`${base}/healthz`);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
    page.on('console', (message) => {
      if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) cspViolations.push(`${page.url()}: ${message.text()}`);
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([stop(api), stop(worker)]);
    await emulator?.close();
  });

  it('signs in, builds agents and a pipeline, follows a run live, and handles an orphaned pipeline', { timeout: 180_000 }, async () => {
    onTestFailed(() => {
      process.stderr.write(processOutput);
    });
    // Sign in: every page sends an anonymous visitor to the login first.
    await page.goto(`${base}/agents`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot('01-login');
    await page.fill('#user', ADMIN.ADMIN_USER);
    await page.fill('#password', ADMIN.ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL(`${base}/agents`);
    await shot('02-agents-empty');

    // Only Anthropic has a key: one group, none for OpenAI.
    await page.goto(`${base}/agents/new`);
    expect(await page.locator('#model optgroup').evaluateAll((groups) => groups.map((group) => group.getAttribute('label')))).toEqual(['Anthropic']);
    // No default model is set: a new agent starts on the first configured model, not on an unset default.
    expect(await page.locator('#model option[value="__default__"]').count()).toBe(0);
    expect(await page.locator('#model').inputValue()).toBe(await page.locator('#model optgroup[label="Anthropic"] option').first().getAttribute('value'));

    // Give OpenAI a key in the settings: the key is never shown again, only its hint.
    await page.goto(`${base}/settings`);
    await page.fill('#apiKey-openai', 'sk-emulator-openai-9876');
    await page.fill('#baseUrl-openai', emulator.openaiBaseUrl);
    await page.click('#provider-openai button[type=submit]');
    await page.waitForURL(/\/settings\?saved=key-saved/);
    expect(await page.content()).not.toContain('sk-emulator-openai-9876');
    await expect.poll(() => page.locator('#provider-openai').textContent()).toContain('…9876');

    // Now one group per configured provider.
    await page.goto(`${base}/agents/new`);
    expect(await page.locator('#model optgroup').evaluateAll((groups) => groups.map((group) => group.getAttribute('label')))).toEqual(['Anthropic', 'OpenAI']);
    const claudeModel = (await page.locator('#model optgroup[label="Anthropic"] option').first().getAttribute('value'))!;
    const gptModel = (await page.locator('#model optgroup[label="OpenAI"] option').first().getAttribute('value'))!;

    // A Claude agent and a GPT agent, through the form.
    await page.fill('#name', 'Researcher');
    await page.selectOption('#model', claudeModel);
    await page.fill('#systemPrompt', 'You research the question and list findings in Markdown.');
    await page.check('input[name=tools][value=web_search]');
    // Shown as an open list box so the screenshot shows the provider groups (a native dropdown never renders in one).
    const rows = (await page.locator('#model option').count()) + (await page.locator('#model optgroup').count());
    await page.locator('#model').evaluate((select, size) => select.setAttribute('size', String(size)), Math.min(rows, 24));
    await shot('03-agent-form', { readme: 'agent-form' });
    await page.locator('#model').evaluate((select) => select.removeAttribute('size'));
    await page.click('form.panel button[type=submit]');
    await page.waitForURL(/\/agents\/agt_[^/]+\?saved=1$/);
    const claudeAgentId = new URL(page.url()).pathname.split('/')[2]!;
    await shot('04-agent');

    await page.goto(`${base}/agents/new`);
    await page.fill('#name', 'Editor');
    await page.selectOption('#model', gptModel);
    await page.fill('#systemPrompt', 'You turn findings into a short summary.');
    await page.click('form.panel button[type=submit]');
    await page.waitForURL(/\/agents\/agt_[^/]+\?saved=1$/);
    await page.goto(`${base}/agents`);
    await shot('05-agents');

    // A two-step pipeline with the builder (its buttons post the form; no JavaScript needed).
    await page.goto(`${base}/pipelines/new`);
    await page.fill('#name', 'Research and summarise');
    await page.selectOption('#stepAgent0', { label: `Researcher — ${claudeModel}` });
    await page.click('button[value=add]');
    await page.selectOption('#stepAgent1', { label: `Editor — ${gptModel}` });
    await page.fill('#stepPrompt1', 'Summarise:\n\n{{previous}}');
    await shot('06-pipeline-builder');
    await page.click('button[value=save]');
    await page.waitForURL(/\/pipelines\/pip_[^/]+\?saved=1$/);
    const pipelineUrl = page.url().replace(/\?.*$/, '');
    expect(await page.locator('.step').count()).toBe(2);
    await shot('07-pipeline');

    // Submit a run and watch it stream to succeeded.
    emulator.script({ provider: 'anthropic', reply: claudeReply }, { provider: 'openai', reply: gptReply, tokensPerSecond: 6 });
    await page.fill('#input', 'How does Conveyor run a pipeline?');
    await page.click('#run-button');
    await page.waitForURL(/\/runs\/run_/);
    await expect.poll(() => page.locator('#step-0-output').textContent(), { timeout: 30_000 }).toContain('two-step');
    await shot('08-run-live-step-1');
    await expect.poll(() => page.locator('#step-1-output').textContent(), { timeout: 30_000 }).toContain('Two agents');
    await shot('08-run-live-step-2', { readme: 'live-run', fullPage: false });
    await page.waitForSelector('#run-status[data-status="succeeded"]', { timeout: 90_000 });
    await page.waitForSelector('#run-artifact a');
    expect(await page.locator('#step-1-output').textContent()).toContain('Two agents, two providers');
    await shot('09-run-succeeded');

    await page.goto(`${base}/runs`);
    await shot('10-runs');

    // The artifact: both step outputs and the cost.
    await page.goto(`${base}/artifacts`);
    await shot('11-artifacts');
    await page.click('table a');
    await page.waitForURL(/\/artifacts\/art_/);
    expect(await page.locator('#step-0-output').textContent()).toContain('Each step uses its own agent and model.');
    expect(await page.locator('#step-1-output').textContent()).toContain('The run finished with a stored artifact and its cost.');
    expect(await page.locator('#step-0-output h2').textContent()).toBe('Findings');
    expect(await page.locator('#step-0-output').textContent()).toContain('Raw HTML such as <b>this</b> is shown as text.');
    expect(await page.locator('#artifact-cost').textContent()).toMatch(/^\$0\.\d+ USD$/);
    await shot('12-artifact', { readme: 'artifact' });
    await page.setViewportSize({ width: 390, height: 844 });
    await shot('13-artifact-phone');
    await page.setViewportSize({ width: 1280, height: 860 });

    // Delete the Claude agent: the confirmation names the pipeline; afterwards it is orphaned and will not run.
    await page.goto(`${base}/agents/${claudeAgentId}/delete`);
    expect(await page.locator('#orphaned-pipelines').textContent()).toContain('Research and summarise');
    await shot('14-agent-delete');
    await page.click('button.danger');
    await page.waitForURL(`${base}/agents`);
    await page.goto(`${base}/pipelines`);
    expect(await page.locator('tr', { hasText: 'Research and summarise' }).locator('.badge.orphaned').count()).toBe(1);
    await shot('15-pipelines-orphaned');
    await page.goto(pipelineUrl);
    expect(await page.locator('.step.missing').count()).toBe(1);
    // The Run form says why it is disabled; a submission anyway (an old tab) is refused with the API's message.
    expect(await page.locator('#run-button').isDisabled()).toBe(true);
    expect(await page.locator('#run-disabled').textContent()).toContain('orphaned');
    await page.evaluate(`(() => { const form = document.getElementById('run-form'); form.querySelector('#input').value = 'again'; form.submit(); })()`);
    await page.waitForSelector('#run-refused');
    const refusal = (await page.locator('#run-refused').textContent())!;
    expect(await page.locator('#input').inputValue()).toBe('again');
    const apiAnswer = await fetch(`${pipelineUrl.replace('/pipelines/', '/v1/pipelines/')}/runs`, {
      method: 'POST',
      headers: { authorization: 'Bearer console-browser-token', 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'again' }),
    });
    expect(apiAnswer.status).toBe(409);
    expect(refusal).toBe(((await apiAnswer.json()) as { error: { message: string } }).error.message);
    await shot('16-run-refused');

    // Change the default model in the settings.
    await page.goto(`${base}/settings`);
    await page.selectOption('#defaultModel', gptModel);
    await page.click('#default-model + form button[type=submit]');
    await page.waitForURL(/\/settings\?saved=default/);
    expect(await page.locator('#defaultModel').inputValue()).toBe(gptModel);
    await shot('17-settings');
    await page.goto(`${base}/agents/new`);
    expect(await page.locator('#model option').first().textContent()).toBe(`Use default (currently: ${gptModel})`);
  });

  it('shows spend per day as a chart, the top pipelines and the same total as the API', { timeout: 60_000 }, async () => {
    // A run of its own with a known cost, finished today, besides whatever the runs above spent.
    const { createDatabase } = await import('@conveyor/core');
    const { newId } = await import('@conveyor/core');
    const db = createDatabase(databaseUrl, { max: 1 });
    const agent = await db.agent.create({ data: { id: newId('agt'), name: 'Spend agent', model: 'claude-haiku-4-5' } });
    const pipeline = await db.pipeline.create({ data: { id: newId('pip'), name: 'Nightly digest' } });
    await db.run.create({
      data: {
        id: newId('run'),
        pipelineId: pipeline.id,
        input: 'digest',
        status: 'succeeded',
        cost: '1.25',
        steps: { create: [{ index: 0, agentId: agent.id, status: 'succeeded', provider: 'openai', model: 'gpt-4o', cost: '1.25', inputTokens: 300000, outputTokens: 50000, calledAt: new Date(), pipelineId: pipeline.id, finishedAt: new Date() }] },
      },
    });
    await db.$disconnect();

    await page.goto(`${base}/spend?days=7&stack=provider`);
    await page.waitForSelector('#spend-chart rect.bar');
    expect(await page.locator('#spend-chart rect.bar[data-series="openai"]').count()).toBe(1);
    expect(await page.locator('#top-pipelines tr', { hasText: 'Nightly digest' }).count()).toBe(1);
    const bar = await page.locator('#spend-chart rect.bar[data-series="openai"]').boundingBox();
    expect(bar!.height).toBeGreaterThan(10);

    const to = new Date(Math.floor(Date.now() / 86_400_000) * 86_400_000 + 86_400_000);
    const from = new Date(to.getTime() - 7 * 86_400_000);
    const api = await fetch(`${base}/v1/spend?from=${from.toISOString()}&to=${to.toISOString()}&groupBy=day`, { headers: { authorization: 'Bearer console-browser-token' } });
    const { total } = (await api.json()) as { total: { cost: string } };
    const shown = (await page.locator('#spend-total').textContent())!;
    expect(shown).toBe(`${formatCost(total.cost)} USD`);
    expect(await page.locator('[style]').count()).toBe(0);
    await shot('18-spend', { readme: 'spend' });
  });

  it('broke no Content-Security-Policy rule on any page it visited', () => {
    expect(cspViolations).toEqual([]);
  });
});
