import { createRoute } from '@hono/zod-openapi';
import { errorResponses, jsonBody, jsonResponse as json } from '../schemas/common.ts';
import { ListMcpToolsBody, McpToolListSchema } from '../schemas/mcp.ts';
import { listServerTools } from '../services/mcp-tools.ts';
import { bearer, createRouter } from './router.ts';

export const mcpRoutes = createRouter().openapi(
  createRoute({
    method: 'post',
    path: '/mcp/list-tools',
    tags: ['Agents'],
    security: bearer,
    summary: "List an MCP server's tools",
    description:
      'Connects to the MCP server (Streamable HTTP, behind the webhook address guard), lists all its tools and marks those `allowedTools` lets through. ' +
      'With `agentId`, a header sent as `[redacted]` uses the value stored for that agent\'s server at the same `url`; header values are never returned. ' +
      '`502 mcp_unreachable` when the server cannot be reached or fails to list.',
    request: { body: jsonBody(ListMcpToolsBody) },
    responses: { 200: json(McpToolListSchema, "The server's tools"), ...errorResponses(404, 413, 502, 503) },
  }),
  async (c) => c.json(await listServerTools(c.get('deps'), c.req.valid('json')), 200),
);
