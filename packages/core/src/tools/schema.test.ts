import { describe, expect, it } from 'vitest';
import { WebhookUrlError } from '../webhooks/ssrf.ts';
import { AgentToolsSchema, assertToolTargets, OutputSchemaSchema, redactToolSecrets } from './schema.ts';

const http = {
  type: 'http',
  name: 'lookup',
  description: 'Looks up an order',
  inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
  url: 'https://tools.example.com/lookup',
};
const mcp = { type: 'mcp', url: 'https://mcp.example.com/mcp', allowedTools: ['search'], headers: { authorization: 'Bearer s3cret' } };

const issues = (value: unknown) => {
  const result = AgentToolsSchema.safeParse(value);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
};

describe('agent tool definitions', () => {
  it('accepts built-ins, HTTP tools and MCP servers together', () => {
    expect(AgentToolsSchema.parse(['web_search', http, { ...http, name: 'other', timeoutSeconds: 5 }, mcp])).toHaveLength(4);
  });

  it('checks an input schema is a usable JSON Schema of an object', () => {
    expect(issues([{ ...http, inputSchema: { type: 'object', properties: { id: { type: 'strnig' } } } }])[0]).toMatch(/^0\.inputSchema: not a valid JSON Schema/);
    expect(issues([{ ...http, inputSchema: { type: 'array' } }])).toEqual(["0.inputSchema: an input schema must have type 'object'"]);
  });

  it('refuses bad names, repeated names, unknown fields and URLs that are not http(s)', () => {
    expect(issues([{ ...http, name: 'look up' }])).toEqual(['0.name: a tool name is 1 to 64 letters, digits, _ or -']);
    expect(issues([http, http])).toEqual(['1: the tool name lookup is used twice']);
    expect(issues([{ ...http, name: 'web_search' }, 'web_search'])).toEqual(['1: the tool name web_search is used twice']);
    expect(issues([{ ...http, url: 'ftp://x/' }])).toEqual(['0.url: must be an absolute http(s) URL without credentials']);
    expect(issues([{ ...http, extra: 1 }])).toEqual(['0: Unrecognized key: "extra"']);
    expect(issues([{ ...mcp, headers: { 'bad header': 'x' } }])).toEqual(['0.headers.bad header: not a valid HTTP header name']);
    expect(issues(['web_crawl'])).toEqual(['0: Invalid input']);
  });

  it('checks an output schema compiles', () => {
    expect(OutputSchemaSchema.safeParse({ type: 'array', items: { type: 'string' } }).success).toBe(true);
    expect(OutputSchemaSchema.safeParse({ type: 'object', required: 'id' }).success).toBe(false);
  });

  it('never shows MCP header values', () => {
    expect(redactToolSecrets(['web_fetch', mcp as never])).toEqual(['web_fetch', { ...mcp, headers: { authorization: '[redacted]' } }]);
  });

  it('refuses tool URLs on private addresses when saved, unless allowed', async () => {
    const tools = AgentToolsSchema.parse([{ ...http, url: 'http://127.0.0.1:9000/x' }]);
    await expect(assertToolTargets(tools, { allowPrivate: false })).rejects.toThrow(
      new WebhookUrlError('tool lookup: url points to a loopback, private, link-local or metadata address'),
    );
    await expect(assertToolTargets(tools, { allowPrivate: true })).resolves.toBeUndefined();
    const viaDns = AgentToolsSchema.parse([mcp]);
    await expect(assertToolTargets(viaDns, { allowPrivate: false, lookup: async () => [{ address: '192.168.1.4', family: 4 }] })).rejects.toThrow(
      /^MCP server tools\[0\]: url points to a loopback/,
    );
  });
});
