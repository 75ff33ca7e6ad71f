import { mkdirSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { root, startBrowserStack, type BrowserStack } from './browser-stack.ts';
import { formatCost } from '../src/console/format.ts';

const screenshots = `${root}test-output/console/`;
/** Set CONSOLE_README_SCREENSHOTS=1 to refresh the README's screenshots in docs/screenshots/. */
const readmeScreenshots = process.env.CONSOLE_README_SCREENSHOTS === '1' ? `${root}docs/screenshots/` : null;

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

describe('console in a browser', () => {
  /**
   * Its own database: provider keys and the default model are global settings other test files change.
   * Only Anthropic has a key at start: the test gives OpenAI one in the settings.
   */
  let stack: BrowserStack;
  /** What the browser reported blocking under the console's CSP: nothing, or inline code is back. */
  const cspViolations: string[] = [];

  const shot = async (name: string, options: { readme?: string; fullPage?: boolean } = {}) => {
    await stack.page.screenshot({ path: `${screenshots}${name}.png`, fullPage: options.fullPage ?? true });
    if (readmeScreenshots && options.readme) await stack.page.screenshot({ path: `${readmeScreenshots}${options.readme}.png`, fullPage: false });
  };

  beforeAll(async () => {
    mkdirSync(screenshots, { recursive: true });
    if (readmeScreenshots) mkdirSync(readmeScreenshots, { recursive: true });
    stack = await startBrowserStack({
      name: 'console',
      emulator: { tokensPerSecond: 25 },
      env: { OPENAI_API_KEY: '', WORKER_CONCURRENCY: '2' },
      viewport: { width: 1280, height: 860 },
      signIn: false,
      onPage: (page) =>
        page.on('console', (message) => {
          if (message.type() === 'error' && /Content Security Policy/i.test(message.text())) cspViolations.push(`${page.url()}: ${message.text()}`);
        }),
    });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('signs in, builds agents and a pipeline, follows a run live, and handles an orphaned pipeline', { timeout: 180_000 }, async () => {
    const { base, emulator, page } = stack;
    onTestFailed(() => {
      process.stderr.write(stack.output());
    });
    // Sign in: every page sends an anonymous visitor to the login first.
    await page.goto(`${base}/agents`);
    expect(new URL(page.url()).pathname).toBe('/login');
    await shot('01-login');
    await stack.signIn(page);
    expect(page.url()).toBe(`${base}/agents`);
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
    const apiAnswer = await stack.request('POST', `${new URL(pipelineUrl).pathname.replace('/pipelines/', '/v1/pipelines/')}/runs`, { input: 'again' });
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
    const { base, page } = stack;
    // A run of its own with a known cost, finished today, besides whatever the runs above spent.
    const { createDatabase, newId } = await import('@conveyor/core');
    const db = createDatabase(stack.databaseUrl, { max: 1 });
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
    const api = await stack.request('GET', `/v1/spend?from=${from.toISOString()}&to=${to.toISOString()}&groupBy=day`);
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
