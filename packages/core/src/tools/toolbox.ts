/**
 * One step's tools: the definitions offered to the model (built-ins, HTTP tools, the
 * allowed tools of every MCP server, listed once) and the dispatch of a model's tool
 * call to where it runs. Every ordinary failure is an error result for the model.
 */

import { validateJson } from '../json-schema/validate.ts';
import type { BuiltinTool, ToolCall, ToolDefinition } from '../providers/types.ts';
import { callHttpTool, type HttpToolOptions } from './http.ts';
import { type McpOptions, McpToolSession } from './mcp.ts';
import { ToolCallAbortedError, type ToolCallContext, type ToolResult } from './result.ts';
import { type AgentTool, type HttpToolConfig, isHttpTool, isMcpServer } from './schema.ts';
import { traceToolCall } from '../telemetry/spans.ts';

export interface ToolboxOptions {
  http: HttpToolOptions;
  mcp: Omit<McpOptions, 'signal'>;
  signal?: AbortSignal;
}

export interface Toolbox {
  /** What to pass as `ChatRequest.tools`. */
  readonly tools: (BuiltinTool | ToolDefinition)[];
  /** E.g. an MCP tool whose name another tool already has (skipped), an allowed tool a server lacks. */
  readonly warnings: string[];
  /** Runs one tool call. Throws only ToolCallAbortedError. */
  call(call: ToolCall, context: ToolCallContext): Promise<ToolResult>;
  /** Ends the MCP sessions. */
  close(): Promise<void>;
}

type Route = { kind: 'http'; tool: HttpToolConfig } | { kind: 'mcp'; session: McpToolSession };

const errorResult = (output: string): ToolResult => ({ output, isError: true, warnings: [], attempts: 0, durationMs: 0 });

/**
 * Opens the tools of one step: connects every MCP server (in parallel) and lists its tools.
 * An MCP server that cannot be listed throws McpConnectionError (the step cannot offer what
 * the agent promised); the sessions already open are closed first.
 */
export async function openToolbox(agentTools: readonly AgentTool[], options: ToolboxOptions): Promise<Toolbox> {
  const servers = agentTools.filter(isMcpServer);
  const settled = await Promise.allSettled(servers.map((server) => McpToolSession.connect(server, { ...options.mcp, ...(options.signal ? { signal: options.signal } : {}) })));
  const sessions = settled.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
  const failed = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failed) {
    await Promise.all(sessions.map((session) => session.close()));
    throw failed.reason;
  }

  const tools: (BuiltinTool | ToolDefinition)[] = [];
  const routes = new Map<string, Route>();
  const warnings: string[] = [];
  for (const tool of agentTools) {
    if (typeof tool === 'string') {
      tools.push(tool);
    } else if (isHttpTool(tool)) {
      tools.push({ name: tool.name, description: tool.description, inputSchema: tool.inputSchema });
      routes.set(tool.name, { kind: 'http', tool });
    }
  }
  const builtinNames = new Set(agentTools.filter((tool): tool is BuiltinTool => typeof tool === 'string'));
  for (const session of sessions) {
    warnings.push(...session.warnings);
    for (const definition of session.tools) {
      if (routes.has(definition.name) || builtinNames.has(definition.name as BuiltinTool)) {
        warnings.push(`the MCP tool ${definition.name} was skipped: another tool has that name`);
        continue;
      }
      tools.push(definition);
      routes.set(definition.name, { kind: 'mcp', session });
    }
  }

  return {
    tools,
    warnings,
    call: (call, context) => traceToolCall(call.name, () => callTool(call, context)),
    async close() {
      await Promise.all(sessions.map((session) => session.close()));
    },
  };

  async function callTool(call: Parameters<Toolbox['call']>[0], context: Parameters<Toolbox['call']>[1]): ReturnType<Toolbox['call']> {
    if (context.signal?.aborted) throw new ToolCallAbortedError(call.name);
    const route = routes.get(call.name);
    if (!route) return errorResult(`there is no tool named ${call.name}`);
    if (call.inputError) return errorResult(`the arguments of ${call.name} were not valid JSON; send them again as a JSON object`);
    if (route.kind === 'mcp') return route.session.callTool(call.name, call.input, context.signal);
    // An HTTP tool receives only input valid for its schema; the model gets the errors instead.
    const validation = validateJson(call.input, route.tool.inputSchema);
    if (!validation.valid) return errorResult(`the input does not match the tool's input schema: ${validation.errors.join('; ')}`);
    return callHttpTool(route.tool, call.input, context, options.http);
  }
}
