import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type BrowserStack, startBrowserStack } from './browser-stack.ts';

interface RunJson {
  id: string;
  status: string;
  parentRunId?: string;
  error?: { code: string };
  steps: { index: number; type?: string; output: unknown; reused?: boolean; decision?: { decision: string; by: string; comment?: string } }[];
}

/** Approval steps and branches, as people use them in the console. */
describe('console: waiting for a person, approving, rejecting, re-running from a step', () => {
  let stack: BrowserStack;
  let pipelineId: string;

  const run = (id: string) => stack.call<RunJson>('GET', `/v1/runs/${id}`);
  const untilStatus = (id: string, status: string) => expect.poll(async () => (await run(id)).status, { timeout: 60_000 }).toBe(status);

  beforeAll(async () => {
    stack = await startBrowserStack({ name: 'approvals_console' });
    const writer = await stack.call<{ id: string }>('POST', '/v1/agents', { name: 'Writer', model: 'claude-haiku-4-5' });
    const editor = await stack.call<{ id: string }>('POST', '/v1/agents', { name: 'Editor', model: 'gpt-4o-mini' });
    const pipeline = await stack.call<{ id: string }>('POST', '/v1/pipelines', {
      name: 'Reviewed post',
      steps: [{ agentId: writer.id }, { type: 'approval', instructions: 'Check the facts in the draft' }, { agentId: editor.id, prompt: 'Polish: {{previous}}' }],
    });
    pipelineId = pipeline.id;
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
  });

  it('lists a waiting run under Waiting for you, approves it with an edited output that the next step gets, and keeps who decided', { timeout: 120_000 }, async () => {
    onTestFailed(() => void process.stderr.write(stack.output()));
    const { page, base } = stack;
    const { id } = await stack.call<{ id: string }>('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'a post about tides' });
    await untilStatus(id, 'waiting');

    await page.goto(`${base}/runs/waiting`);
    const row = page.locator(`#waiting-runs tr[data-run="${id}"]`);
    expect(await row.textContent()).toContain('Check the facts in the draft');
    await row.locator('a').click();
    await page.waitForURL(`${base}/runs/${id}`);
    expect(await page.locator('#approval-panel').isVisible()).toBe(true);

    await page.fill('#approval-output', 'The edited draft about tides');
    await page.fill('#approval-comment', 'fixed the dates');
    await page.click('#approve-form button:not([formaction])');
    await page.waitForURL(/approved=1/);
    await untilStatus(id, 'succeeded');
    await page.reload();
    await page.locator('#run-status[data-status="succeeded"]').waitFor({ timeout: 30_000 });
    expect(await page.locator('#decision').textContent()).toMatch(/^Approved by console:admin, .*: “fixed the dates”$/);

    const ended = await run(id);
    expect(ended.steps[1]).toMatchObject({ type: 'approval', output: 'The edited draft about tides', decision: { decision: 'approved', by: 'console:admin', comment: 'fixed the dates' } });
    const editorRequest = stack.emulator.requests.filter((request) => request.provider === 'openai').at(-1)!;
    expect(JSON.stringify(editorRequest.body['messages'])).toContain('Polish: The edited draft about tides');
    await page.goto(`${base}/runs/waiting`);
    expect(await page.locator(`#waiting-runs tr[data-run="${id}"]`).count()).toBe(0);
  });

  it('rejects a waiting run: it ends failed with rejected, and the last step is never called', { timeout: 120_000 }, async () => {
    onTestFailed(() => void process.stderr.write(stack.output()));
    const { page, base } = stack;
    const { id } = await stack.call<{ id: string }>('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'a post about comets' });
    await untilStatus(id, 'waiting');
    const openaiCalls = stack.emulator.requests.filter((request) => request.provider === 'openai').length;

    await page.goto(`${base}/runs/${id}`);
    await page.fill('#approval-comment', 'wrong topic');
    await page.click('#approve-form button[formaction]');
    await page.locator('#run-status[data-status="failed"]').waitFor({ timeout: 30_000 });

    const ended = await run(id);
    expect(ended.error?.code).toBe('rejected');
    expect(ended.steps[1]!.decision).toMatchObject({ decision: 'rejected', by: 'console:admin', comment: 'wrong topic' });
    expect(await page.locator('#decision').textContent()).toMatch(/^Rejected by console:admin/);
    expect(stack.emulator.requests.filter((request) => request.provider === 'openai')).toHaveLength(openaiCalls);
  });

  it('re-runs the last step from the run page: a branch that reuses the steps before it with no model call', { timeout: 120_000 }, async () => {
    onTestFailed(() => void process.stderr.write(stack.output()));
    const { page, base } = stack;
    const { id } = await stack.call<{ id: string }>('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'a post about waves' });
    await untilStatus(id, 'waiting');
    await stack.call('POST', `/v1/runs/${id}/approve`, {});
    await untilStatus(id, 'succeeded');
    const requestsBefore = stack.emulator.requests.length;

    await page.goto(`${base}/runs/${id}`);
    await page.click('#step-2 details.rerun summary');
    await page.click('#step-2 button[value="rerun"]');
    await page.waitForURL((url) => url.pathname.startsWith('/runs/run_') && !url.pathname.endsWith(id));
    const branchId = page.url().split('/runs/')[1]!.split('?')[0]!;
    await untilStatus(branchId, 'succeeded');

    const branch = await run(branchId);
    expect(branch.parentRunId).toBe(id);
    expect(branch.steps.map((step) => step.reused ?? false)).toEqual([true, true, false]);
    expect(stack.emulator.requests.length - requestsBefore).toBe(1);
    await page.reload();
    expect(await page.locator('#run-parent a').textContent()).toBe(id);
    await page.goto(`${base}/runs/${id}`);
    expect(await page.locator(`#run-branches a[href="/runs/${branchId}"]`).count()).toBe(1);
  });
});
