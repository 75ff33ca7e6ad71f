/** An MCP server on 127.0.0.1 for tests, built with the official SDK (stateful Streamable HTTP). */

import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { z } from 'zod';

export interface TestMcpServer {
  url: string;
  /** Tool calls the server ran, in order. */
  calls: { name: string; args: unknown }[];
  /** The `authorization` header of every HTTP request. */
  authorizations: (string | undefined)[];
  /** Sessions ended by the client. */
  closedSessions: number;
  /** Calls of `slow` cancelled by the client. */
  cancelled: number;
  /** Resolves when the next call of `slow` starts. */
  slowStarted(): Promise<void>;
  reset(): void;
  close(): Promise<void>;
}

/**
 * Tools: `add {a, b}` (text), `lookup {q}` (structured), `fail` (isError), `slow` (runs
 * until cancelled), `drop_tables` (for allowedTools tests).
 */
export async function startTestMcpServer(): Promise<TestMcpServer> {
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let onSlow: (() => void) | undefined;

  function buildServer(): McpServer {
    const server = new McpServer({ name: 'test-tools', version: '1.0.0' });
    server.registerTool('add', { description: 'Adds two numbers', inputSchema: { a: z.number(), b: z.number() } }, async ({ a, b }) => {
      state.calls.push({ name: 'add', args: { a, b } });
      return { content: [{ type: 'text', text: String(a + b) }] };
    });
    server.registerTool(
      'lookup',
      { description: 'Finds rows', inputSchema: { q: z.string() }, outputSchema: { rows: z.array(z.string()) } },
      async ({ q }) => {
        state.calls.push({ name: 'lookup', args: { q } });
        return { content: [{ type: 'text', text: JSON.stringify({ rows: [q] }) }], structuredContent: { rows: [q] } };
      },
    );
    server.registerTool('fail', { description: 'Always fails' }, async () => {
      state.calls.push({ name: 'fail', args: {} });
      return { content: [{ type: 'text', text: 'no such record' }], isError: true };
    });
    server.registerTool('slow', { description: 'Never finishes on its own' }, (extra) => {
      state.calls.push({ name: 'slow', args: {} });
      onSlow?.();
      return new Promise((resolve) => {
        extra.signal.addEventListener('abort', () => {
          state.cancelled++;
          resolve({ content: [{ type: 'text', text: 'cancelled' }] });
        });
      });
    });
    server.registerTool('drop_tables', { description: 'Dangerous' }, async () => {
      state.calls.push({ name: 'drop_tables', args: {} });
      return { content: [{ type: 'text', text: 'dropped' }] };
    });
    return server;
  }

  const httpServer = http.createServer(async (request, response) => {
    state.authorizations.push(request.headers.authorization);
    const sessionId = request.headers['mcp-session-id'];
    let transport = typeof sessionId === 'string' ? sessions.get(sessionId) : undefined;
    if (!transport) {
      const created = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, created);
        },
        onsessionclosed: (id) => {
          sessions.delete(id);
          state.closedSessions++;
        },
      });
      transport = created;
      await buildServer().connect(transport);
    }
    await transport.handleRequest(request, response);
  });
  httpServer.listen(0, '127.0.0.1');
  await once(httpServer, 'listening');

  const state: TestMcpServer = {
    url: `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}/mcp`,
    calls: [],
    authorizations: [],
    closedSessions: 0,
    cancelled: 0,
    slowStarted: () =>
      new Promise((resolve) => {
        onSlow = resolve;
      }),
    reset() {
      state.calls.length = 0;
      state.authorizations.length = 0;
      state.closedSessions = 0;
      state.cancelled = 0;
    },
    async close() {
      for (const transport of sessions.values()) await transport.close();
      httpServer.closeAllConnections();
      await new Promise((resolve) => httpServer.close(resolve));
    },
  };
  return state;
}
