/**
 * Agent tool definitions (SPEC v1.3 "Tools", "Structured output"): built-in names, HTTP
 * function tools and MCP servers, plus `outputSchema` and `maxTurns`. Zod schemas the API
 * validates with (and documents); JSON Schemas inside are compiled with ajv to be sure
 * they are usable.
 */

import { z } from 'zod';
import { jsonSchemaProblem } from '../json-schema/validate.ts';
import { builtinTools } from '../providers/types.ts';
import { assertWebhookTarget, type HostResolver, WebhookUrlError } from '../webhooks/ssrf.ts';

/** The names both providers accept for a function. */
export const ToolName = z
  .string()
  .regex(/^[a-zA-Z0-9_-]{1,64}$/, 'a tool name is 1 to 64 letters, digits, _ or -')
  .describe('The name the model calls the tool by.');

/** Any usable JSON Schema object. */
export const JsonSchemaObject = z.record(z.string(), z.unknown()).superRefine((schema, ctx) => {
  const problem = jsonSchemaProblem(schema);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

/** A tool's input: a JSON Schema of an object (models call functions with an object of arguments). */
export const ToolInputSchema = JsonSchemaObject.refine((schema) => schema.type === 'object', "an input schema must have type 'object'").describe(
  'JSON Schema of the arguments object the model sends.',
);

const ToolUrl = z
  .string()
  .max(2048)
  .refine((value) => {
    try {
      const url = new URL(value);
      return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
    } catch {
      return false;
    }
  }, 'must be an absolute http(s) URL without credentials');

export const HttpToolSchema = z
  .strictObject({
    type: z.literal('http'),
    name: ToolName,
    description: z.string().trim().min(1).max(4000).describe('What the tool does, for the model.'),
    inputSchema: ToolInputSchema,
    url: ToolUrl.describe('Conveyor POSTs {runId, stepIndex, toolCallId, name, input} here, signed like webhooks.'),
    timeoutSeconds: z.number().int().min(1).max(600).optional().describe('Per request; default 30.'),
  })
  .describe('A function tool served over HTTP.');

/** HTTP header names (RFC 9110 tokens); values are secrets. */
const headerName = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$/;

export const McpServerSchema = z
  .strictObject({
    type: z.literal('mcp'),
    url: ToolUrl.describe('The MCP server (Streamable HTTP).'),
    allowedTools: z
      .array(ToolName)
      .min(1)
      .max(200)
      .refine((names) => new Set(names).size === names.length, 'allowedTools must not repeat')
      .optional()
      .describe('Only these of its tools are offered; all when absent.'),
    headers: z
      .record(z.string(), z.string().max(8192))
      // Checked in a refinement (not as a key schema) so the error names the header rather than "Invalid input".
      .superRefine((headers, ctx) => {
        const names = Object.keys(headers);
        if (names.length > 50) ctx.addIssue({ code: 'custom', message: 'at most 50 headers' });
        for (const name of names) if (!headerName.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'not a valid HTTP header name' });
      })
      .optional()
      .describe('Sent with every request. Stored encrypted, never returned.'),
  })
  .describe('An MCP server whose tools are offered to the model.');

export const BuiltinToolSchema = z.enum(builtinTools).describe('A built-in tool: web_search, web_fetch (Anthropic only).');

export const AgentToolSchema = z.union([BuiltinToolSchema, z.discriminatedUnion('type', [HttpToolSchema, McpServerSchema])]);

export const AgentToolsSchema = z
  .array(AgentToolSchema)
  .max(64)
  .superRefine((tools, ctx) => {
    const names = new Set<string>();
    const servers = new Set<string>();
    tools.forEach((tool, index) => {
      const key = typeof tool === 'string' ? tool : tool.type === 'http' ? tool.name : undefined;
      if (key !== undefined) {
        if (names.has(key)) ctx.addIssue({ code: 'custom', path: [index], message: `the tool name ${key} is used twice` });
        names.add(key);
      } else if (typeof tool !== 'string' && tool.type === 'mcp') {
        if (servers.has(tool.url)) ctx.addIssue({ code: 'custom', path: [index], message: 'the same MCP server is listed twice' });
        servers.add(tool.url);
      }
    });
  })
  .describe('Built-in tools by name, HTTP function tools and MCP servers.');

export const OutputSchemaSchema = JsonSchemaObject.describe('JSON Schema the answer must match; the step output is then the JSON value.');

export const MaxTurnsSchema = z.number().int().min(1).max(100).describe('Model turns a step with tools may take (default 10).');
export const defaultMaxTurns = 10;

export type HttpToolConfig = z.output<typeof HttpToolSchema>;
export type McpServerConfig = z.output<typeof McpServerSchema>;
export type AgentTool = z.output<typeof AgentToolSchema>;

export const isHttpTool = (tool: AgentTool): tool is HttpToolConfig => typeof tool !== 'string' && tool.type === 'http';
export const isMcpServer = (tool: AgentTool): tool is McpServerConfig => typeof tool !== 'string' && tool.type === 'mcp';

/** The value shown in place of every MCP header value in API responses. */
export const redactedHeaderValue = '[redacted]';

/** The tools as the API returns them: MCP header values replaced (their names stay visible). */
export function redactToolSecrets(tools: readonly AgentTool[]): AgentTool[] {
  return tools.map((tool) => {
    if (!isMcpServer(tool) || !tool.headers) return tool;
    return { ...tool, headers: Object.fromEntries(Object.keys(tool.headers).map((name) => [name, redactedHeaderValue])) };
  });
}

/**
 * The check made when an agent is saved: every tool URL passes the webhook address guard
 * (a private or loopback target is refused unless WEBHOOK_ALLOW_PRIVATE). Throws a
 * WebhookUrlError naming the tool (a 400).
 */
export async function assertToolTargets(tools: readonly AgentTool[], options: { allowPrivate: boolean; lookup?: HostResolver }): Promise<void> {
  for (const [index, tool] of tools.entries()) {
    if (typeof tool === 'string') continue;
    try {
      await assertWebhookTarget(tool.url, options);
    } catch (error) {
      if (!(error instanceof WebhookUrlError)) throw error;
      const which = tool.type === 'http' ? `tool ${tool.name}` : `MCP server tools[${index}]`;
      throw new WebhookUrlError(`${which}: ${error.message.replace(/^webhookUrl /, 'url ')}`);
    }
  }
}
