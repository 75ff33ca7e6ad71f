import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { startTestToolServer, type TestToolServer, testPrefix } from '@conveyor/core/testing';
import { freePort } from '@conveyor/core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { stopProcess as stop } from './child-process.ts';
import { ADMIN } from './console-session.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const TOKEN = 'console-tools-token';

const databaseUrl = (() => {
  const url = new URL(process.env.DATABASE_URL!);
  url.pathname = `${url.pathname}_tools_page`;
  return url.toString();
})();

let output = '';
function startProcess(entry: string, env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', entry], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += `[${entry}] ${chunk}`));
  child.stderr?.on('data', (chunk: Buffer) => (output += `[${entry}] ${chunk}`));
  return child;
}

describe('console: agent tools and a run that calls them, in a browser', () => {
  let emulator: Emulator;
  let tools: TestToolServer;
  let api: ChildProcess;
  let worker: ChildProcess;
  let browser: Browser;
  let page: Page;
  let base: string;

  // biome-ignore lint/suspicious/noExplicitAny: API bodies are read loosely in assertions
  const call = async (method: string, path: string, body?: unknown): Promise<any> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return response.status === 204 ? undefined : response.json();
  };

  beforeAll(async () => {
    execFileSync(process.execPath, ['--import', 'tsx', 'prisma/migrate.ts', 'deploy'], { cwd: root, env: { ...process.env, DATABASE_URL: databaseUrl }, stdio: ['ignore', 'ignore', 'inherit'] });
    const { createDatabase } = await import('@conveyor/core');
    const db = createDatabase(databaseUrl, { max: 1 });
    await db.$executeRawUnsafe('TRUNCATE agents, pipelines, pipeline_steps, runs, run_steps, artifacts, provider_credentials, settings, webhook_deliveries CASCADE');
    await db.$disconnect();
    [emulator, tools] = await Promise.all([startEmulator({ host: '127.0.0.1' }), startTestToolServer()]);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    const env = {
      DATABASE_URL: databaseUrl,
      REDIS_PREFIX: testPrefix('console-tools'),
      ...ADMIN,
      API_TOKENS: TOKEN,
      ENCRYPTION_KEY: 'ab'.repeat(32),
      ...emulator.providerEnv('emulator-key'),
      WEBHOOK_ALLOW_PRIVATE: 'true',
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
    page = await (await browser.newContext({ viewport: { width: 1280, height: 900 } })).newPage();
    await page.goto(`${base}/login`);
    await page.fill('#user', ADMIN.ADMIN_USER);
    await page.fill('#password', ADMIN.ADMIN_PASSWORD);
    await page.click('button[type=submit]');
    await page.waitForURL((url) => url.pathname !== '/login');
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await Promise.all([stop(api), stop(worker)]);
    await Promise.all([emulator?.close(), tools?.close()]);
  });

  it('creates an agent with an HTTP tool, an MCP server with a write-only header, an output schema and max turns', { timeout: 90_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output));
    await page.goto(`${base}/agents/new`);
    await page.fill('#name', 'Forecaster');
    await page.selectOption('#model', 'claude-haiku-4-5');
    await page.fill('#http-0-name', 'get_weather');
    await page.fill('#http-0-description', 'The weather in a city');
    await page.fill('#http-0-url', tools.url('weather'));
    await page.fill('#http-0-schema', '{"type": "object", "properties": {"city": ');
    expect(await page.locator('#http-0-schema + .json-status').textContent()).toMatch(/^not valid JSON/);
    await page.fill('#http-0-schema', '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}');
    expect(await page.locator('#http-0-schema + .json-status').textContent()).toBe('valid JSON');
    await page.fill('#mcp-0-url', 'https://mcp.example.com/mcp');
    await page.fill('#mcp-0-allowed', 'search, fetch_page');
    await page.fill('#mcp-0-headers', 'Authorization: Bearer very-secret');
    await page.fill('#maxTurns', '3');
    await page.fill('#outputSchema', '{"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}');
    await page.click('form.panel button[type=submit]');
    await page.waitForURL(/\/agents\/agt_[^/]+\?saved=1/);

    expect(await page.locator('#agent-tools-summary').textContent()).toBe('get_weather (HTTP), MCP https://mcp.example.com/mcp (search, fetch_page)');
    expect(await page.locator('#agent-output-schema').textContent()).toContain('"summary"');
    const agentId = new URL(page.url()).pathname.split('/').at(-1)!;
    const agent = await call('GET', `/v1/agents/${agentId}`);
    expect(agent.maxTurns).toBe(3);
    expect(agent.tools[1].headers).toEqual({ Authorization: '[redacted]' });

    // The header is write-only: the edit form shows it redacted, and saving again keeps the stored value.
    await page.goto(`${base}/agents/${agentId}/edit`);
    expect(await page.locator('#mcp-0-headers').inputValue()).toBe('Authorization: [redacted]');
    expect(await page.content()).not.toContain('very-secret');
    await page.click('form.panel button[type=submit]');
    await page.waitForURL(/saved=1/);

    // A schema that is not JSON is named in the form's errors.
    await page.goto(`${base}/agents/${agentId}/edit`);
    await page.fill('#http-0-schema', '{"type": ');
    await page.click('form.panel button[type=submit]');
    expect(await page.locator('.notice.error, .errors').first().textContent()).toMatch(/HTTP tool get_weather, input schema: not valid JSON/);
  });

  it("shows a run's tool calls live (input, then result and duration) and every turn once it has ended", { timeout: 90_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output));
    const agent = await call('POST', '/v1/agents', {
      name: 'Weather',
      model: 'claude-haiku-4-5',
      tools: [{ type: 'http', name: 'get_weather', description: 'Weather', inputSchema: { type: 'object', properties: { city: { type: 'string' } } }, url: tools.url('weather') }],
    });
    const pipeline = await call('POST', '/v1/pipelines', { name: 'Tools', steps: [{ agentId: agent.id, prompt: '{{input}} [[emulator:tool=get_weather {"city":"Paris"}]]' }] });
    const held = tools.hold('get_weather');
    const run = await call('POST', `/v1/pipelines/${pipeline.id}/runs`, { input: 'Weather?' });
    await page.goto(`${base}/runs/${run.id}`);
    await held;

    const live = page.locator('#step-0-turns .tool-call').first();
    await live.locator('.badge.running').waitFor({ timeout: 30_000 });
    await live.locator('summary').click();
    expect(await live.locator('.tool-input').textContent()).toContain('"city": "Paris"');
    tools.release();
    await live.locator('.badge.succeeded').waitFor({ timeout: 30_000 });
    expect(await live.locator('.tool-output').textContent()).toContain('"tool": "get_weather"');
    expect(await live.locator('.tool-duration').textContent()).toMatch(/\d+(\.\d)? m?s/);
    await page.waitForSelector('#run-status[data-status="succeeded"]', { timeout: 30_000 });

    await page.reload();
    const turns = page.locator('#step-0-turns details.turn');
    expect(await turns.count()).toBe(2);
    expect(await turns.first().locator('> summary').textContent()).toMatch(/Turn 1 .*in.*out.*\$.*1 tool call/);
    const stored = turns.first().locator('.tool-call');
    expect(await stored.locator('> summary').textContent()).toMatch(/get_weather ok \d+/);
    await stored.locator('> summary').click();
    expect(await stored.locator('.tool-output').textContent()).toContain('"city": "Paris"');
  });
});
