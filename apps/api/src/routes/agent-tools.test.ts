import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi({ WEBHOOK_ALLOW_PRIVATE: 'false' });
afterAll(() => api.close());

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read loosely in assertions
type Json = any;
const post = async (body: Record<string, unknown>) => {
  const res = await api.call('POST', '/v1/agents', { name: 'Actor', model: 'claude-sonnet-4-5', ...body });
  return { status: res.status, body: (await res.json()) as Json };
};
const patch = async (id: string, body: Record<string, unknown>) => {
  const res = await api.call('PATCH', `/v1/agents/${id}`, body);
  return { status: res.status, body: (await res.json()) as Json };
};

const weather = {
  type: 'http',
  name: 'get_weather',
  description: 'The weather in a city',
  inputSchema: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  url: 'https://tools.example.com/weather',
  timeoutSeconds: 5,
};
const server = { type: 'mcp', url: 'https://mcp.example.com/mcp', allowedTools: ['search'], headers: { authorization: 'Bearer mcp-secret-1', 'x-team': 'blue' } };

describe('agents with tools, an output schema and maxTurns', () => {
  it('stores HTTP tools and MCP servers, returns header values redacted, and keeps them encrypted at rest', async () => {
    const created = await post({ tools: ['web_search', weather, server], outputSchema: { type: 'object', properties: { a: { type: 'string' } } }, maxTurns: 4 });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      tools: ['web_search', weather, { ...server, headers: { authorization: '[redacted]', 'x-team': '[redacted]' } }],
      outputSchema: { type: 'object', properties: { a: { type: 'string' } } },
      maxTurns: 4,
    });
    expect(JSON.stringify(created.body)).not.toContain('mcp-secret-1');

    const row = await api.deps.db.agent.findUniqueOrThrow({ where: { id: created.body.id } });
    expect(JSON.stringify(row.tools)).not.toContain('mcp-secret-1');
    expect(JSON.stringify(row.tools)).toContain('"authorization":"v2.');
    const read = (await (await api.call('GET', `/v1/agents/${created.body.id}`)).json()) as Json;
    expect(read.tools[2].headers.authorization).toBe('[redacted]');
    expect(api.logs()).not.toContain('mcp-secret-1');
  });

  it('keeps a stored header when the redacted value is sent back, and replaces it when a new value is sent', async () => {
    const { body: agent } = await post({ tools: [server] });
    const sealed = async () => ((await api.deps.db.agent.findUniqueOrThrow({ where: { id: agent.id } })).tools as Json)[0].headers;
    const before = await sealed();

    const kept = await patch(agent.id, { tools: agent.tools });
    expect(kept.status).toBe(200);
    expect(await sealed()).toEqual(before);

    const replaced = await patch(agent.id, { tools: [{ ...server, headers: { authorization: 'Bearer new', 'x-team': '[redacted]' } }] });
    expect(replaced.status).toBe(200);
    const after = await sealed();
    expect(after.authorization).not.toBe(before.authorization);
    expect(after['x-team']).toBe(before['x-team']);
  });

  it('refuses [redacted] for a header nothing is stored for, naming it', async () => {
    const { status, body } = await post({ tools: [{ ...server, headers: { authorization: '[redacted]' } }] });
    expect(status).toBe(400);
    expect(body.error.message).toContain('tools[0].headers.authorization');
  });

  it('refuses a tool URL on a literal private or loopback address with 400 (WEBHOOK_ALLOW_PRIVATE off)', async () => {
    for (const url of ['http://127.0.0.1:9000/tool', 'http://10.1.2.3/tool', 'http://169.254.169.254/latest']) {
      const http = await post({ tools: [{ ...weather, url }] });
      expect(http.status).toBe(400);
      expect(http.body.error.message).toContain('get_weather');
    }
    const mcp = await post({ tools: [{ type: 'mcp', url: 'http://localhost:8080/mcp' }] });
    expect(mcp.status).toBe(400);
  });

  it('refuses malformed tools, schemas and limits with a 400 that says what is wrong', async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ tools: [{ ...weather, name: 'bad name!' }] }, /tool name/],
      [{ tools: [{ ...weather, inputSchema: { type: 'string' } }] }, /type 'object'/],
      [{ tools: [{ ...weather, inputSchema: { type: 'object', properties: { a: { type: 'nope' } } } }] }, /JSON Schema/],
      [{ tools: [weather, weather] }, /used twice/],
      [{ tools: [{ type: 'ftp', url: 'x' }] }, /tools/],
      [{ outputSchema: { type: 'bogus' } }, /JSON Schema/],
      [{ maxTurns: 0 }, /maxTurns/],
      [{ tools: [{ ...server, headers: { 'bad header': 'x' } }] }, /header name/],
    ];
    for (const [body, message] of cases) {
      const { status, body: answer } = await post(body);
      expect(status, JSON.stringify(body)).toBe(400);
      expect(JSON.stringify(answer.error), JSON.stringify(body)).toMatch(message);
    }
  });

  it('defaults maxTurns to 10, and clears the output schema with null', async () => {
    const { body: agent } = await post({ outputSchema: { type: 'object' } });
    expect(agent.maxTurns).toBe(10);
    const cleared = await patch(agent.id, { outputSchema: null });
    expect(cleared.body.outputSchema).toBeNull();
  });
});
