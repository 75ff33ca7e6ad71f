import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ToolCall } from '../providers/types.ts';
import { McpConnectionError } from './mcp.ts';
import { ToolCallAbortedError } from './result.ts';
import type { AgentTool } from './schema.ts';
import { startTestMcpServer, type TestMcpServer } from '../../testkit/mcp-server.ts';
import { openToolbox, type ToolboxOptions } from './toolbox.ts';

let mcp: TestMcpServer;
let toolServer: http.Server;
let toolUrl: string;
const posted: unknown[] = [];

beforeAll(async () => {
  mcp = await startTestMcpServer();
  toolServer = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      posted.push(body);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ found: body.input.id }));
    });
  });
  toolServer.listen(0, '127.0.0.1');
  await once(toolServer, 'listening');
  toolUrl = `http://127.0.0.1:${(toolServer.address() as AddressInfo).port}/lookup`;
});
afterAll(async () => {
  await mcp.close();
  toolServer.closeAllConnections();
  await new Promise((resolve) => toolServer.close(resolve));
});
beforeEach(() => {
  mcp.reset();
  posted.length = 0;
});

const options: ToolboxOptions = { http: { allowPrivate: true, baseDelayMs: 1 }, mcp: { allowPrivate: true } };
const context = { runId: 'run_1', stepIndex: 0, toolCallId: 'call_1' };
const call = (name: string, input: unknown, extra: Partial<ToolCall> = {}): ToolCall => ({ id: 'call_1', name, input, inputText: JSON.stringify(input), ...extra });

const agentTools = (): AgentTool[] => [
  'web_search',
  {
    type: 'http',
    name: 'lookup',
    description: 'Finds an order',
    inputSchema: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'], additionalProperties: false },
    url: toolUrl,
  },
  { type: 'mcp', url: mcp.url, allowedTools: ['add', 'lookup'] },
];

describe('a step toolbox', () => {
  it('offers built-ins, HTTP tools and the allowed MCP tools, skipping a name already taken', async () => {
    const toolbox = await openToolbox(agentTools(), options);
    try {
      expect(toolbox.tools.map((tool) => (typeof tool === 'string' ? tool : tool.name))).toEqual(['web_search', 'lookup', 'add']);
      expect(toolbox.warnings).toEqual(['the MCP tool lookup was skipped: another tool has that name']);
    } finally {
      await toolbox.close();
    }
    expect(mcp.closedSessions).toBe(1);
  });

  it('runs each call where its tool lives', async () => {
    const toolbox = await openToolbox(agentTools(), options);
    try {
      expect(await toolbox.call(call('add', { a: 1, b: 2 }), context)).toMatchObject({ output: '3', isError: false });
      expect(await toolbox.call(call('lookup', { id: 'A-7' }), context)).toMatchObject({ output: '{"found":"A-7"}', json: { found: 'A-7' }, isError: false });
      expect(mcp.calls).toEqual([{ name: 'add', args: { a: 1, b: 2 } }]);
      expect(posted).toEqual([{ runId: 'run_1', stepIndex: 0, toolCallId: 'call_1', name: 'lookup', input: { id: 'A-7' } }]);
    } finally {
      await toolbox.close();
    }
  });

  it('answers unknown tools, unparsable arguments and input the schema refuses with error results, calling nothing', async () => {
    const toolbox = await openToolbox(agentTools(), options);
    try {
      expect(await toolbox.call(call('drop_tables', {}), context)).toMatchObject({ isError: true, output: 'there is no tool named drop_tables' });
      expect(await toolbox.call(call('lookup', {}, { inputText: '{"id":', inputError: 'x' }), context)).toMatchObject({
        isError: true,
        output: 'the arguments of lookup were not valid JSON; send them again as a JSON object',
      });
      expect(await toolbox.call(call('lookup', { id: 7 }), context)).toMatchObject({
        isError: true,
        output: "the input does not match the tool's input schema: /id: must be string",
      });
      expect(posted).toEqual([]);
      expect(mcp.calls).toEqual([]);
    } finally {
      await toolbox.close();
    }
  });

  it('throws on a cancelled call instead of giving a result', async () => {
    const toolbox = await openToolbox(agentTools(), options);
    try {
      const controller = new AbortController();
      controller.abort();
      await expect(toolbox.call(call('add', { a: 1, b: 1 }), { ...context, signal: controller.signal })).rejects.toBeInstanceOf(ToolCallAbortedError);
    } finally {
      await toolbox.close();
    }
  });

  it('fails to open when an MCP server cannot be listed, closing the sessions it had opened', async () => {
    const tools: AgentTool[] = [{ type: 'mcp', url: mcp.url }, { type: 'mcp', url: 'http://127.0.0.1:1/mcp' }];
    await expect(openToolbox(tools, options)).rejects.toBeInstanceOf(McpConnectionError);
    await expect.poll(() => mcp.closedSessions).toBe(1);
  });
});
