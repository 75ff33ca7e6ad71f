import { readFileSync } from 'node:fs';
import { startTestReceiver, type TestReceiver } from '@conveyor/core/testing';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { formatCost, formatDuration, formatTokens } from '../src/console/format.ts';
import { root, startBrowserStack, type BrowserStack } from './browser-stack.ts';

/** Set CONSOLE_README_SCREENSHOTS=1 to refresh the README's screenshots of these pages in docs/screenshots/. */
const readmeScreenshots = process.env.CONSOLE_README_SCREENSHOTS === '1' ? `${root}docs/screenshots/` : null;

const findings = ['## Findings', '', 'The first point is **bold**.', '', ...Array.from({ length: 30 }, (_, i) => `- point ${i + 1} of the list`)].join('\n');

describe('console run page in a browser', () => {
  /** Its own database: the default model is a global setting other files change. */
  let stack: BrowserStack;
  let receiver: TestReceiver;
  const notFound: string[] = [];

  const call = <T,>(method: string, path: string, body?: unknown) => stack.call<T>(method, path, body);
  const submit = (pipelineId: string, input: string) => call<{ id: string }>('POST', `/v1/pipelines/${pipelineId}/runs`, { input });

  beforeAll(async () => {
    receiver = await startTestReceiver();
    // The first delivery is refused; the receiver accepts the ones after it.
    receiver.reply(500);
    stack = await startBrowserStack({
      name: 'run_page',
      env: {
        WEBHOOK_ALLOW_PRIVATE: 'true',
        // One retry, an hour later: only Redeliver brings the second attempt sooner.
        WEBHOOK_RETRY_SCHEDULE: '3600',
      },
      onPage: (page) =>
        page.on('response', (response) => {
          if (response.status() === 404) notFound.push(response.url());
        }),
    });
    await stack.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.base });
  }, 120_000);

  afterAll(async () => {
    await stack?.close();
    await receiver?.close();
  });

  it('follows a run live: Markdown while streaming, first token, exact costs, copy and download, webhook redelivery', { timeout: 120_000 }, async () => {
    const { base, emulator, page } = stack;
    onTestFailed(() => void process.stderr.write(stack.output()));
    // A new agent starts on the first configured model: no default is set.
    await page.goto(`${base}/agents/new`);
    const firstModel = await page.locator('#model optgroup').first().locator('option').first().getAttribute('value');
    expect(await page.locator('#model').inputValue()).toBe(firstModel);
    expect(await page.locator('#model option[value="__default__"]').count()).toBe(0);

    const agent = await call<{ id: string }>('POST', '/v1/agents', { name: 'Researcher', model: 'claude-sonnet-4-5' });
    const pipeline = await call<{ id: string }>('POST', '/v1/pipelines', { name: 'Live', steps: [{ agentId: agent.id }], webhookUrl: receiver.url });

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
    expect(receiver.received.map((hook) => hook.headers['webhook-id'])).toEqual([`msg_${run.id}_succeeded`, `msg_${run.id}_succeeded`, `msg_${run.id}_succeeded`]);
    if (readmeScreenshots) {
      await page.evaluate('window.scrollTo(0, 0)');
      await page.screenshot({ path: `${readmeScreenshots}run-page.png` });
    }
  });

  it('keeps the partial output when a run is canceled, and lists failures with their reason and input', { timeout: 90_000 }, async () => {
    const { base, emulator, page } = stack;
    onTestFailed(() => void process.stderr.write(stack.output()));
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
