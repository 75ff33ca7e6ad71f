import { freePort } from '@conveyor/core';
import { startTestMcpServer, startTestToolServer, type TestMcpServer, type TestToolServer } from '@conveyor/core/testing';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { type BrowserStack, startBrowserStack } from './browser-stack.ts';

describe('console: agent tools and a run that calls them, in a browser', () => {
  let stack: BrowserStack;
  let tools: TestToolServer;
  let mcp: TestMcpServer;
  let page: Page;
  let base: string;
  const output = () => stack.output();
  // biome-ignore lint/suspicious/noExplicitAny: API bodies are read loosely in assertions
  const call = (method: string, path: string, body?: unknown): Promise<any> => stack.call(method, path, body);

  beforeAll(async () => {
    [tools, mcp] = await Promise.all([startTestToolServer(), startTestMcpServer()]);
    stack = await startBrowserStack({ name: 'tools_console', env: { WEBHOOK_ALLOW_PRIVATE: 'true' } });
    ({ page, base } = stack);
  }, 180_000);

  afterAll(async () => {
    await stack?.close();
    await Promise.all([tools?.close(), mcp?.close()]);
  });

  it('creates an agent with an HTTP tool, an MCP server with a write-only header, an output schema and max turns', { timeout: 90_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output()));
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
    onTestFailed(() => void process.stderr.write(output()));
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

  it("lists an MCP server's tools from the agent form, with the stored header, and says why it cannot", { timeout: 90_000 }, async () => {
    onTestFailed(() => void process.stderr.write(output()));
    const agent = await call('POST', '/v1/agents', {
      name: 'Researcher',
      model: 'claude-haiku-4-5',
      tools: [{ type: 'mcp', url: mcp.url, allowedTools: ['lookup'], headers: { authorization: 'Bearer listed-secret' } }],
    });
    await page.goto(`${base}/agents/${agent.id}/edit`);
    const server = page.locator('fieldset[data-tool=mcp]').first();
    await server.getByRole('button', { name: 'List tools' }).click();

    const lookup = server.locator('.mcp-tools li[data-tool=lookup]');
    await lookup.waitFor({ timeout: 30_000 });
    expect(await lookup.textContent()).toBe('lookup (allowed) — Finds rows');
    expect(await server.locator('.mcp-tools li[data-tool=add]').textContent()).toBe('add (not allowed) — Adds two numbers');
    expect(await server.locator('.mcp-tools li').count()).toBe(5);
    // The header shown as [redacted] was read from the stored agent by the API, never sent to the page.
    expect(mcp.authorizations).toContain('Bearer listed-secret');
    expect(await page.content()).not.toContain('listed-secret');

    await server.locator('[name=mcpHeaders]').fill('');
    await server.locator('[name=mcpUrl]').fill(`http://127.0.0.1:${await freePort()}/mcp`);
    await server.getByRole('button', { name: 'List tools' }).click();
    const error = server.locator('.mcp-tools .bad');
    await error.waitFor({ timeout: 30_000 });
    expect(await error.textContent()).toMatch(/^Could not list the tools: could not list the tools of the MCP server at http:\/\/127\.0\.0\.1:\d+/);
    expect(await server.locator('.mcp-tools li').count()).toBe(0);
  });
});
