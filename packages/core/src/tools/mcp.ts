/**
 * MCP servers as tools, through the official SDK's client over Streamable HTTP: connect,
 * list the tools once, call them, close. Behind the webhook address guard. A failed call
 * is an error result for the model; only an abort throws.
 */

import { performance } from 'node:perf_hooks';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ToolDefinition } from '../providers/types.ts';
import { assertWebhookUrlSyntax, guardedLookup, type HostResolver, systemResolver, WebhookUrlError } from '../webhooks/ssrf.ts';
import { ToolCallAbortedError, type ToolResult, truncateUtf8 } from './result.ts';

export interface McpServerTools {
  type: 'mcp';
  url: string;
  /** Only these of the server's tools are offered (all when absent). */
  allowedTools?: string[];
  /** Sent with every request (e.g. `authorization`). Values are secrets: never logged or echoed. */
  headers?: Record<string, string>;
}

export interface McpOptions {
  /** WEBHOOK_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  lookup?: HostResolver;
  /** Connecting and listing tools (default 30 s). */
  connectTimeoutMs?: number;
  /** One tool call (default 120 s). */
  callTimeoutMs?: number;
  /** Results longer than this many bytes are truncated with a warning (default 100 000). */
  maxResultBytes?: number;
  signal?: AbortSignal;
}

export const mcpDefaults = { connectTimeoutMs: 30_000, callTimeoutMs: 120_000, maxResultBytes: 100_000 } as const;

/** The server could not be reached or listed. Its message is safe to show (no header values). */
export class McpConnectionError extends Error {
  override name = 'McpConnectionError';
}

type Sdk = {
  Client: typeof import('@modelcontextprotocol/sdk/client/index.js').Client;
  StreamableHTTPClientTransport: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js').StreamableHTTPClientTransport;
};
let sdk: Promise<Sdk> | undefined;
/** The SDK loads with the first MCP server, so a worker without one never holds it. */
const loadSdk = () =>
  (sdk ??= Promise.all([import('@modelcontextprotocol/sdk/client/index.js'), import('@modelcontextprotocol/sdk/client/streamableHttp.js')]).then(
    ([client, transport]) => ({ Client: client.Client, StreamableHTTPClientTransport: transport.StreamableHTTPClientTransport }),
  ));

type FetchLike = (url: string | URL, init?: RequestInit) => Promise<Response>;

/** A fetch whose sockets connect only to addresses the guard accepted (no DNS-rebinding window). */
async function guardedFetch(resolver: HostResolver): Promise<FetchLike> {
  const { Agent, fetch } = await import('undici');
  const dispatcher = new Agent({ connect: { lookup: guardedLookup(resolver) } });
  return (url, init) => fetch(url, { ...(init as object), dispatcher }) as unknown as Promise<Response>;
}

function reason(error: unknown): string {
  let current: unknown = error;
  // fetch wraps the socket's failure: the guard's refusal or the network error is the cause.
  while (current instanceof Error && current.cause && !(current instanceof WebhookUrlError)) current = current.cause;
  if (current instanceof WebhookUrlError) return `the MCP server's url was refused: ${current.message.replace(/^webhookUrl /, '')}`;
  const code = (current as NodeJS.ErrnoException | undefined)?.code;
  const message = current instanceof Error ? current.message : String(current);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

const isAbort = (signal: AbortSignal | undefined) => signal?.aborted === true;

export class McpToolSession {
  /** The server's tools that may be offered, as the model sees them. */
  readonly tools: ToolDefinition[];
  /** E.g. an allowed tool the server does not have. */
  readonly warnings: string[];
  readonly #client: Client;
  readonly #transport: { terminateSession(): Promise<void> };
  readonly #options: McpOptions;
  readonly #allowed: Set<string>;

  private constructor(client: Client, transport: { terminateSession(): Promise<void> }, tools: ToolDefinition[], warnings: string[], options: McpOptions) {
    this.#client = client;
    this.#transport = transport;
    this.tools = tools;
    this.warnings = warnings;
    this.#options = options;
    this.#allowed = new Set(tools.map((tool) => tool.name));
  }

  /** Connects and lists the tools (all pages), keeping the allowed ones. Throws McpConnectionError or ToolCallAbortedError. */
  static async connect(server: McpServerTools, options: McpOptions): Promise<McpToolSession> {
    let url: URL;
    try {
      url = assertWebhookUrlSyntax(server.url, { allowPrivate: options.allowPrivate });
    } catch (error) {
      throw new McpConnectionError(reason(error));
    }
    const { Client, StreamableHTTPClientTransport } = await loadSdk();
    const fetch = options.allowPrivate ? undefined : await guardedFetch(options.lookup ?? systemResolver);
    const transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { ...server.headers } },
      ...(fetch ? { fetch } : {}),
    });
    const client = new Client({ name: 'conveyor', version: '1' });
    const timeout = options.connectTimeoutMs ?? mcpDefaults.connectTimeoutMs;
    const request = { timeout, ...(options.signal ? { signal: options.signal } : {}) };
    try {
      await client.connect(transport, request);
      const listed: ToolDefinition[] = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor ? { cursor } : {}, request);
        for (const tool of page.tools) {
          listed.push({ name: tool.name, ...(tool.description ? { description: tool.description } : {}), inputSchema: tool.inputSchema as ToolDefinition['inputSchema'] });
        }
        cursor = page.nextCursor;
      } while (cursor);
      const allowed = server.allowedTools ? new Set(server.allowedTools) : undefined;
      const tools = allowed ? listed.filter((tool) => allowed.has(tool.name)) : listed;
      const missing = server.allowedTools?.filter((name) => !listed.some((tool) => tool.name === name)) ?? [];
      const warnings = missing.map((name) => `the MCP server at ${url.origin} has no tool ${name}`);
      return new McpToolSession(client, transport, tools, warnings, options);
    } catch (error) {
      await client.close().catch(() => {});
      if (isAbort(options.signal)) throw new ToolCallAbortedError(`list of ${url.origin}`);
      throw new McpConnectionError(`could not list the tools of the MCP server at ${url.origin}: ${reason(error)}`);
    }
  }

  /** Calls one tool. Failures (unknown tool, timeout, server error, `isError`) are error results; an abort throws. */
  async callTool(name: string, input: unknown, signal?: AbortSignal): Promise<ToolResult> {
    const started = performance.now();
    const result = (output: string, isError: boolean, extra: Partial<ToolResult> = {}): ToolResult => ({
      output,
      isError,
      warnings: [],
      attempts: 1,
      durationMs: Math.round(performance.now() - started),
      ...extra,
    });
    if (!this.#allowed.has(name)) return result(`the tool ${name} is not offered by this MCP server`, true, { attempts: 0 });
    const args = input && typeof input === 'object' && !Array.isArray(input) ? (input as Record<string, unknown>) : {};
    let answer: CallToolResult;
    try {
      answer = (await this.#client.callTool({ name, arguments: args }, undefined, {
        timeout: this.#options.callTimeoutMs ?? mcpDefaults.callTimeoutMs,
        ...(signal ? { signal } : {}),
      })) as CallToolResult;
    } catch (error) {
      if (isAbort(signal) || isAbort(this.#options.signal)) throw new ToolCallAbortedError(name);
      return result(`the MCP tool ${name} failed: ${reason(error)}`, true);
    }
    const mapped = mapCallResult(answer);
    const maxBytes = this.#options.maxResultBytes ?? mcpDefaults.maxResultBytes;
    const cut = truncateUtf8(mapped.output, maxBytes);
    if (cut.truncated) {
      return result(`${cut.text}\n[truncated]`, answer.isError === true, {
        warnings: [`the result of tool ${name} was longer than ${maxBytes} bytes and was truncated`],
      });
    }
    return result(mapped.output, answer.isError === true, mapped.json === undefined ? {} : { json: mapped.json });
  }

  /** Ends the server's session (when it keeps one) and the connection. */
  async close(): Promise<void> {
    await this.#transport.terminateSession().catch(() => {});
    await this.#client.close().catch(() => {});
  }
}

/**
 * What the model reads from an MCP result: the structured content as JSON when there is
 * some, else the text parts joined (one JSON text part stays JSON); other parts are named.
 */
export function mapCallResult(answer: CallToolResult): { output: string; json?: unknown } {
  if (answer.structuredContent !== undefined && answer.isError !== true) {
    return { output: JSON.stringify(answer.structuredContent), json: answer.structuredContent };
  }
  const parts = (answer.content ?? []).map((part) => {
    if (part.type === 'text') return part.text;
    if (part.type === 'image' || part.type === 'audio') return `[${part.type} ${part.mimeType}]`;
    if (part.type === 'resource') return 'text' in part.resource ? part.resource.text : `[resource ${part.resource.uri}]`;
    if (part.type === 'resource_link') return `[resource ${part.uri}]`;
    return `[${(part as { type: string }).type}]`;
  });
  const output = parts.join('\n');
  if (parts.length === 1) {
    try {
      const json = JSON.parse(output);
      if (json !== null && typeof json === 'object') return { output, json };
    } catch {
      // plain text
    }
  }
  return { output };
}

/** Connects, lists the allowed tools and closes: the check behind "list tools" when an agent is saved. */
export async function listMcpTools(server: McpServerTools, options: McpOptions): Promise<{ tools: ToolDefinition[]; warnings: string[] }> {
  const session = await McpToolSession.connect(server, options);
  try {
    return { tools: session.tools, warnings: session.warnings };
  } finally {
    await session.close();
  }
}
