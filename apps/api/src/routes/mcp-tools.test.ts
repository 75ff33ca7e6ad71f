import { freePort } from '@conveyor/core';
import { startTestMcpServer, type TestMcpServer } from '@conveyor/core/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

// The test MCP server listens on loopback, which only WEBHOOK_ALLOW_PRIVATE lets through.
const api = createTestApi({ WEBHOOK_ALLOW_PRIVATE: 'true' });
const guarded = createTestApi({ WEBHOOK_ALLOW_PRIVATE: 'false' });
let mcp: TestMcpServer;

beforeAll(async () => {
  mcp = await startTestMcpServer();
});
afterAll(async () => {
  await Promise.all([api.close(), guarded.close(), mcp?.close()]);
});
beforeEach(() => mcp.reset());

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in assertions
type Json = any;
const list = async (body: unknown, on = api) => {
  const res = await on.call('POST', '/v1/mcp/list-tools', body);
  return { status: res.status, body: (await res.json()) as Json };
};

describe('POST /v1/mcp/list-tools', () => {
  it("lists every tool of the server with its description, marks the ones allowedTools lets through, and warns of an allowed tool it lacks", async () => {
    const { status, body } = await list({ url: mcp.url, allowedTools: ['lookup', 'add', 'missing_tool'] });
    expect(status).toBe(200);
    expect(body.url).toBe(mcp.url);
    const byName = Object.fromEntries(body.tools.map((tool: Json) => [tool.name, tool]));
    expect(Object.keys(byName).sort()).toEqual(['add', 'drop_tables', 'fail', 'lookup', 'slow']);
    expect(byName.add).toEqual({ name: 'add', description: 'Adds two numbers', allowed: true });
    expect(byName.lookup.allowed).toBe(true);
    expect(byName.drop_tables.allowed).toBe(false);
    expect(body.warnings).toEqual([expect.stringContaining('missing_tool')]);
    expect(mcp.calls).toEqual([]);
  });

  it('marks every tool allowed without allowedTools, and sends the headers given', async () => {
    const { status, body } = await list({ url: mcp.url, headers: { authorization: 'Bearer typed-secret' } });
    expect(status).toBe(200);
    expect(body.tools.every((tool: Json) => tool.allowed)).toBe(true);
    expect(mcp.authorizations).toContain('Bearer typed-secret');
    expect(JSON.stringify(body)).not.toContain('typed-secret');
  });

  it("uses a stored agent's header for a [redacted] value, never returning it", async () => {
    const created = await api.call('POST', '/v1/agents', {
      name: 'Lister',
      model: 'claude-sonnet-4-5',
      tools: [{ type: 'mcp', url: mcp.url, headers: { authorization: 'Bearer stored-secret' } }],
    });
    const agent = (await created.json()) as Json;
    expect(agent.tools[0].headers.authorization).toBe('[redacted]');

    const { status, body } = await list({ ...agent.tools[0], type: undefined, agentId: agent.id });
    expect(status).toBe(200);
    expect(body.tools.length).toBeGreaterThan(0);
    expect(mcp.authorizations).toContain('Bearer stored-secret');
    expect(JSON.stringify(body)).not.toContain('stored-secret');
    expect(api.logs()).not.toContain('stored-secret');

    const elsewhere = await list({ url: `${mcp.url}?other`, headers: { authorization: '[redacted]' }, agentId: agent.id });
    expect(elsewhere.status).toBe(400);
    expect(elsewhere.body.error.message).toContain('headers.authorization');
  });

  it('refuses a [redacted] header without an agent (400) and an unknown agent (404)', async () => {
    const orphan = await list({ url: mcp.url, headers: { authorization: '[redacted]' } });
    expect(orphan.status).toBe(400);
    expect(orphan.body.error.message).toContain('send the value');
    const unknown = await list({ url: mcp.url, headers: { authorization: '[redacted]' }, agentId: 'agt_missing' });
    expect(unknown.status).toBe(404);
  });

  it('answers 502 mcp_unreachable, naming the server, when nothing listens there', async () => {
    const url = `http://127.0.0.1:${await freePort()}/mcp`;
    const { status, body } = await list({ url });
    expect(status).toBe(502);
    expect(body.error.code).toBe('mcp_unreachable');
    expect(body.error.message).toContain('could not list the tools of the MCP server at http://127.0.0.1');
  });

  it('refuses a loopback, private or metadata address with 400 behind the webhook address guard', async () => {
    for (const url of [mcp.url, 'http://10.1.2.3/mcp', 'http://169.254.169.254/latest']) {
      const { status, body } = await list({ url }, guarded);
      expect(status, url).toBe(400);
      expect(body.error.code).toBe('validation_error');
    }
    expect(mcp.authorizations).toEqual([]);
  });

  it('refuses malformed input with a 400 that says what is wrong', async () => {
    const cases: [unknown, RegExp][] = [
      [{}, /url/],
      [{ url: 'not a url' }, /url/],
      [{ url: 'ftp://mcp.example.com/mcp' }, /url/],
      [{ url: mcp.url, headers: { 'bad header': 'x' } }, /header/],
      [{ url: mcp.url, allowedTools: [] }, /allowedTools/],
      [{ url: mcp.url, surprise: true }, /surprise|unrecognized/i],
    ];
    for (const [input, message] of cases) {
      const { status, body } = await list(input);
      expect(status, JSON.stringify(input)).toBe(400);
      expect(JSON.stringify(body.error), JSON.stringify(input)).toMatch(message);
    }
  });
});
