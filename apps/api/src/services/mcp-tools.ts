import {
  type AgentTool,
  assertToolTargets,
  isMcpServer,
  listMcpTools,
  McpConnectionError,
  type McpServerConfig,
  openToolSecrets,
  redactedHeaderValue,
  SecretBoxError,
  secretBoxOf,
  ToolSecretsKeyMissingError,
  WebhookUrlError,
} from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { ApiError, notFound, unavailable, validationError } from '../errors.ts';
import type { ListMcpToolsInput, McpToolListJson } from '../schemas/mcp.ts';

/** Listing is a check a person waits for: shorter than a step's connect timeout. */
const listTimeoutMs = 15_000;

/** The agent's stored server at `url`, its header values opened (they never leave this process). */
async function storedServer(deps: ApiDeps, agentId: string, url: string): Promise<McpServerConfig | undefined> {
  const agent = await deps.db.agent.findUnique({ where: { id: agentId }, select: { tools: true } });
  if (!agent) throw notFound('agent', agentId);
  const server = (Array.isArray(agent.tools) ? (agent.tools as AgentTool[]) : []).filter(isMcpServer).find((tool) => tool.url === url);
  if (!server) return undefined;
  try {
    return openToolSecrets([server], secretBoxOf(deps.config))[0] as McpServerConfig;
  } catch (error) {
    if (error instanceof ToolSecretsKeyMissingError || error instanceof SecretBoxError) throw unavailable(`the stored headers of this MCP server cannot be read: ${error.message}`);
    throw error;
  }
}

/** The server to ask: as sent, with each `[redacted]` header value taken from the stored agent's server at the same url. */
async function serverToList(deps: ApiDeps, input: ListMcpToolsInput): Promise<McpServerConfig> {
  const { agentId, headers, allowedTools, url } = input;
  const redacted = Object.values(headers ?? {}).includes(redactedHeaderValue);
  const stored = agentId && redacted ? await storedServer(deps, agentId, url) : undefined;
  if (agentId && !redacted && !(await deps.db.agent.count({ where: { id: agentId } }))) throw notFound('agent', agentId);
  const resolved = Object.fromEntries(
    Object.entries(headers ?? {}).map(([name, value]) => {
      if (value !== redactedHeaderValue) return [name, value];
      const kept = stored?.headers?.[name];
      if (kept === undefined) {
        const message = `headers.${name} is ${redactedHeaderValue} but ${agentId ? `agent ${agentId} stores no value for it at this url` : 'no agentId says where it is stored'}: send the value`;
        throw validationError(message, [{ path: ['body', 'headers', name], message }]);
      }
      return [name, kept];
    }),
  );
  return { type: 'mcp', url, ...(allowedTools ? { allowedTools } : {}), ...(headers ? { headers: resolved } : {}) };
}

/**
 * Connects to an MCP server, lists all its tools and says which `allowedTools` lets through.
 * Behind the webhook address guard; an unreachable server or one that fails to list is a 502.
 */
export async function listServerTools(deps: ApiDeps, input: ListMcpToolsInput): Promise<McpToolListJson> {
  const allowPrivate = deps.config.WEBHOOK_ALLOW_PRIVATE;
  try {
    await assertToolTargets([{ type: 'mcp', url: input.url }], { allowPrivate });
  } catch (error) {
    if (error instanceof WebhookUrlError) {
      const message = error.message.replace(/^MCP server tools\[0\]: /, '');
      throw validationError(message, [{ path: ['body', 'url'], message }]);
    }
    throw error;
  }
  const server = await serverToList(deps, input);
  let listed: Awaited<ReturnType<typeof listMcpTools>>;
  try {
    // Every tool, so the answer can show which the allow-list leaves out.
    listed = await listMcpTools({ ...server, allowedTools: undefined }, { allowPrivate, connectTimeoutMs: listTimeoutMs });
  } catch (error) {
    if (error instanceof McpConnectionError) throw new ApiError(502, 'mcp_unreachable', error.message);
    throw error;
  }
  const allowed = server.allowedTools ? new Set(server.allowedTools) : undefined;
  const missing = (server.allowedTools ?? []).filter((name) => !listed.tools.some((tool) => tool.name === name));
  return {
    url: server.url,
    tools: listed.tools.map((tool) => ({ name: tool.name, description: tool.description ?? null, allowed: !allowed || allowed.has(tool.name) })),
    warnings: [...listed.warnings, ...missing.map((name) => `allowedTools names ${name}, which the server does not have`)],
  };
}
