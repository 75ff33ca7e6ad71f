import { McpServerSchema } from '@conveyor/core';
import { z } from '@hono/zod-openapi';

export const ListMcpToolsBody = McpServerSchema.omit({ type: true })
  .extend({
    agentId: z
      .string()
      .min(1)
      .max(100)
      .optional()
      .describe(
        "A stored agent that has this server (same `url`): a header sent as `[redacted]` (as `GET /v1/agents/{id}` shows it) uses the value stored for it.",
      ),
  })
  .openapi('ListMcpToolsBody', {
    example: { url: 'https://mcp.example.com/mcp', allowedTools: ['search'], headers: { authorization: 'Bearer …' } },
  });

export const McpToolListSchema = z
  .object({
    url: z.string(),
    tools: z.array(
      z.object({
        name: z.string(),
        description: z.string().nullable(),
        allowed: z.boolean().describe('Offered to the model: listed in `allowedTools`, or `allowedTools` is absent.'),
      }),
    ),
    warnings: z.array(z.string()).describe('E.g. an allowed tool the server does not have.'),
  })
  .openapi('McpToolList');

export type ListMcpToolsInput = z.output<typeof ListMcpToolsBody>;
export type McpToolListJson = z.output<typeof McpToolListSchema>;
