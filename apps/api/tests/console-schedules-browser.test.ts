import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type BrowserStack, startBrowserStack } from './browser-stack.ts';

/** Delayed runs, schedules and artifact versions, as people use them in the console. */
describe('console: runs later, schedules, edited results', () => {
  let stack: BrowserStack;
  let page: Page;
  let base: string;
  const output = () => stack.output();
  const call = <T,>(method: string, path: string, body?: unknown) => stack.call<T>(method, path, body);

  async function newPipeline(name: string) {
    const agent = await call<{ id: string }>('POST', '/v1/agents', { name: `${name} agent`, model: 'claude-haiku-4-5' });
    return call<{ id: string }>('POST', '/v1/pipelines', { name, steps: [{ agentId: agent.id }] });
  }

  beforeAll(async () => {
    stack = await startBrowserStack({ name: 'schedules_console' });
    ({ page, base } = stack);
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('submits a run for later from the pipeline page, shows when it is due, and cancels it', { timeout: 60_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output()));
    const pipeline = await newPipeline('Later');
    await page.goto(`${base}/pipelines/${pipeline.id}`);
    await page.fill('#input', 'tomorrow morning');
    await page.fill('#delaySeconds', '3600');
    await page.click('#run-button');
    await page.waitForURL(/\/runs\/run_/);
    const runId = page.url().split('/runs/')[1]!.split('?')[0]!;
    expect(await page.locator('#run-status').getAttribute('data-status')).toBe('queued');
    const run = await call<{ scheduledFor: string }>('GET', `/v1/runs/${runId}`);
    expect(Date.parse(run.scheduledFor)).toBeGreaterThan(Date.now() + 3500_000);
    expect(await page.locator('#run-scheduled-for').isVisible()).toBe(true);

    await page.click('#cancel-form button');
    await page.waitForSelector('#run-status[data-status="canceled"]', { timeout: 30_000 });
    await page.goto(`${base}/runs?pipelineId=${pipeline.id}`);
    expect(await page.locator(`tr[data-run="${runId}"] .run-scheduled-for`).textContent()).toMatch(/^due /);
  });

  it('edits an artifact\'s final output as text and as JSON, keeping every version', { timeout: 60_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output()));
    const pipeline = await newPipeline('Editable');
    const run = await call<{ id: string }>('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'write something' });
    await expect.poll(async () => (await call<{ status: string }>('GET', `/v1/runs/${run.id}`)).status, { timeout: 30_000 }).toBe('succeeded');
    const { artifactId } = await call<{ artifactId: string }>('GET', `/v1/runs/${run.id}`);
    const original = await call<{ data: { output: string } }>('GET', `/v1/artifacts/${artifactId}`);

    await page.goto(`${base}/artifacts/${artifactId}`);
    expect(await page.locator('#artifact-version').textContent()).toBe('1');
    await page.click('#edit-output summary');
    expect(await page.locator('#edit-output-text').inputValue()).toBe(original.data.output);
    await page.fill('#edit-output-text', 'A corrected answer, by a person.');
    await page.click('#edit-output-save');
    await page.waitForURL(/saved=1/);
    expect(await page.locator('#artifact-version').textContent()).toBe('2');
    expect(await page.locator('#final-output').textContent()).toContain('A corrected answer, by a person.');
    expect(await page.locator('#artifact-versions tr[data-version]').count()).toBe(2);

    await page.click('#edit-output summary');
    await page.check('#edit-output-json');
    await page.fill('#edit-output-text', '{"score": 4,');
    await page.click('#edit-output-save');
    expect(await page.locator('#edit-refused').textContent()).toMatch(/^The output is not valid JSON/);
    expect(await page.locator('#edit-output-text').inputValue()).toBe('{"score": 4,');
    await page.fill('#edit-output-text', '{"score": 4, "verdict": "good"}');
    await page.click('#edit-output-save');
    await page.waitForURL(/saved=1/);
    expect(await page.locator('#artifact-version').textContent()).toBe('3');

    const latest = await call<{ version: number; data: { output: unknown } }>('GET', `/v1/artifacts/${artifactId}`);
    expect(latest).toMatchObject({ version: 3, data: { output: { score: 4, verdict: 'good' } } });
    const versions = await call<{ data: { version: number; data: { output: unknown } }[] }>('GET', `/v1/artifacts/${artifactId}/versions`);
    expect(versions.data.map((v) => v.data.output)).toEqual([original.data.output, 'A corrected answer, by a person.', { score: 4, verdict: 'good' }]);
    await page.locator('#artifact-versions tr[data-version="1"] summary').click();
    expect(await page.locator('#artifact-versions tr[data-version="1"] .version-output').textContent()).toBe(original.data.output);
  });

  it('lists, adds, disables, enables and deletes a pipeline\'s schedules, with their next fire times', { timeout: 60_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output()));
    const pipeline = await newPipeline('Scheduled');
    await page.goto(`${base}/pipelines/${pipeline.id}`);
    expect(await page.locator('#schedules .empty').textContent()).toContain('No schedules');

    await page.fill('#schedule-cron', '0 9 * *');
    await page.fill('#schedule-input', 'the morning report');
    await page.click('#schedule-create');
    await page.waitForURL(/scheduleError=/);
    expect(await page.locator('#schedule-error').textContent()).toContain('needs 5 fields');

    await page.fill('#schedule-cron', '0 9 * * 1-5');
    await page.fill('#schedule-timezone', 'Europe/Paris');
    await page.fill('#schedule-input', 'the morning report');
    await page.click('#schedule-create');
    await page.waitForURL((url) => url.pathname === `/pipelines/${pipeline.id}` && !url.search.includes('scheduleError'));
    const { data } = await call<{ data: { id: string; nextRunTimes: string[] }[] }>('GET', `/v1/schedules?pipelineId=${pipeline.id}`);
    expect(data).toHaveLength(1);
    const row = page.locator(`tr[data-schedule="${data[0]!.id}"]`);
    expect(await row.locator('.mono').textContent()).toBe('0 9 * * 1-5');
    expect(await row.locator('.next-runs div').count()).toBe(3);
    expect(await row.locator('.schedule-status').textContent()).toBe('enabled');

    await row.locator('.schedule-toggle').click();
    await page.waitForLoadState();
    expect(await row.locator('.schedule-status').textContent()).toBe('disabled');
    expect(await row.locator('.next-runs').textContent()).toBe('disabled');
    expect((await call<{ enabled: boolean }>('GET', `/v1/schedules/${data[0]!.id}`)).enabled).toBe(false);
    await row.locator('.schedule-toggle').click();
    await page.waitForLoadState();
    expect(await row.locator('.schedule-status').textContent()).toBe('enabled');

    await row.locator('.schedule-delete').click();
    await page.waitForLoadState();
    expect(await page.locator('#schedule-list').count()).toBe(0);
    expect((await call<{ data: unknown[] }>('GET', `/v1/schedules?pipelineId=${pipeline.id}`)).data).toEqual([]);
  });
});
