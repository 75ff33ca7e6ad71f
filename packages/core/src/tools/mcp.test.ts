import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { listMcpTools, McpConnectionError, type McpOptions, McpToolSession } from './mcp.ts';
import { ToolCallAbortedError } from './result.ts';
import { startTestMcpServer, type TestMcpServer } from '../../testkit/mcp-server.ts';

let server: TestMcpServer;
let url: string;

beforeAll(async () => {
  server = await startTestMcpServer();
  url = server.url;
});
afterAll(async () => {
  await server.close();
});
beforeEach(() => {
  server.reset();
});

const options: McpOptions = { allowPrivate: true };

describe('MCP servers over Streamable HTTP', () => {
  it('lists the tools with their input schemas and sends the configured headers', async () => {
    const session = await McpToolSession.connect({ type: 'mcp', url, headers: { authorization: 'Bearer mcp-secret' } }, options);
    try {
      expect(session.tools.map((t) => t.name)).toEqual(['add', 'lookup', 'fail', 'slow', 'drop_tables']);
      expect(session.tools[0]).toMatchObject({
        name: 'add',
        description: 'Adds two numbers',
        inputSchema: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
      });
      await session.callTool('add', { a: 2, b: 3 });
    } finally {
      await session.close();
    }
    expect(server.closedSessions).toBe(1);
    expect(server.authorizations.length).toBeGreaterThan(2);
    expect(server.authorizations.every((value) => value === 'Bearer mcp-secret')).toBe(true);
  });

  it('offers only the allowed tools, refuses to call others and warns about allowed tools the server lacks', async () => {
    const session = await McpToolSession.connect({ type: 'mcp', url, allowedTools: ['add', 'missing'] }, options);
    try {
      expect(session.tools.map((t) => t.name)).toEqual(['add']);
      expect(session.warnings).toEqual([`the MCP server at ${new URL(url).origin} has no tool missing`]);
      const refused = await session.callTool('drop_tables', {});
      expect(refused).toMatchObject({ isError: true, output: 'the tool drop_tables is not offered by this MCP server', attempts: 0 });
      expect(server.calls).toEqual([]);
    } finally {
      await session.close();
    }
  });

  it('maps text, structured and error results', async () => {
    const session = await McpToolSession.connect({ type: 'mcp', url }, options);
    try {
      expect(await session.callTool('add', { a: 2, b: 40 })).toMatchObject({ output: '42', isError: false });
      expect(await session.callTool('lookup', { q: 'ada' })).toMatchObject({ output: '{"rows":["ada"]}', json: { rows: ['ada'] }, isError: false });
      expect(await session.callTool('fail', {})).toMatchObject({ output: 'no such record', isError: true });
      const invalid = await session.callTool('add', { a: 'two' });
      expect(invalid.isError).toBe(true);
      expect(invalid.output).toContain('Input validation error');
      expect(server.calls.map((c) => c.name)).toEqual(['add', 'lookup', 'fail']);
    } finally {
      await session.close();
    }
  });

  it('aborts a call in flight and tells the server it was cancelled', async () => {
    const session = await McpToolSession.connect({ type: 'mcp', url }, options);
    try {
      const controller = new AbortController();
      const started = server.slowStarted();
      const call = session.callTool('slow', {}, controller.signal);
      await started;
      controller.abort();
      await expect(call).rejects.toBeInstanceOf(ToolCallAbortedError);
      await expect.poll(() => server.cancelled).toBe(1);
    } finally {
      await session.close();
    }
  });

  it('gives a timed-out call to the model as an error result', async () => {
    const session = await McpToolSession.connect({ type: 'mcp', url }, { ...options, callTimeoutMs: 200 });
    try {
      const result = await session.callTool('slow', {});
      expect(result.isError).toBe(true);
      expect(result.output).toMatch(/^the MCP tool slow failed: .*timed out/i);
    } finally {
      await session.close();
    }
  });

  it('refuses a private address unless allowed, and explains a server that is not there', async () => {
    await expect(McpToolSession.connect({ type: 'mcp', url }, { allowPrivate: false })).rejects.toThrow(
      new McpConnectionError("the MCP server's url was refused: points to a loopback, private, link-local or metadata address"),
    );
    const viaDns = McpToolSession.connect({ type: 'mcp', url: url.replace('127.0.0.1', 'mcp.example.com') }, {
      allowPrivate: false,
      lookup: async () => [{ address: '10.0.0.7', family: 4 }],
    });
    await expect(viaDns).rejects.toThrow(/refused: points to a loopback, private/);
    expect(server.authorizations).toEqual([]);

    const gone = McpToolSession.connect({ type: 'mcp', url: 'http://127.0.0.1:1/mcp', headers: { authorization: 'Bearer hidden' } }, options);
    await expect(gone).rejects.toThrow(/^could not list the tools of the MCP server at http:\/\/127\.0\.0\.1:1: /);
    await expect(gone).rejects.not.toThrow(/hidden/);
  });

  it('lists tools for a one-off check and closes', async () => {
    const { tools, warnings } = await listMcpTools({ type: 'mcp', url, allowedTools: ['lookup'] }, options);
    expect(tools.map((t) => t.name)).toEqual(['lookup']);
    expect(warnings).toEqual([]);
  });
});
