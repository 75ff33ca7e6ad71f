/**
 * MCP header values at rest: sealed under ENCRYPTION_KEY when an agent is saved (like provider
 * keys), opened only by the worker that calls the server, never returned. A client that sends
 * back the redacted value it was shown keeps the value stored for that server and header.
 */

import type { SecretBox } from '../crypto/secret-box.ts';
import { type AgentTool, isMcpServer, redactedHeaderValue } from './schema.ts';

/** A header sent as `[redacted]` for which nothing is stored. Its message is safe to show. */
export class MissingToolSecretError extends Error {
  override name = 'MissingToolSecretError';
  constructor(
    readonly index: number,
    readonly header: string,
  ) {
    super(`tools[${index}].headers.${header} is ${redactedHeaderValue} but no value is stored for it: send the value`);
  }
}

/** Whether any MCP server of `tools` sends headers (so saving them needs ENCRYPTION_KEY). */
export const hasToolSecrets = (tools: readonly AgentTool[]): boolean => tools.some((tool) => isMcpServer(tool) && Object.keys(tool.headers ?? {}).length > 0);

/**
 * The tools as they are stored: every MCP header value sealed. A value equal to the redacted
 * placeholder keeps the sealed value `stored` has for the same server URL and header name.
 */
export function sealToolSecrets(tools: readonly AgentTool[], box: SecretBox | undefined, stored: readonly AgentTool[] = []): AgentTool[] {
  const storedHeaders = new Map(stored.filter(isMcpServer).map((server) => [server.url, server.headers ?? {}]));
  return tools.map((tool, index) => {
    if (!isMcpServer(tool) || !tool.headers) return tool;
    const headers = Object.fromEntries(
      Object.entries(tool.headers).map(([name, value]) => {
        if (value === redactedHeaderValue) {
          const kept = storedHeaders.get(tool.url)?.[name];
          if (kept === undefined) throw new MissingToolSecretError(index, name);
          return [name, kept];
        }
        if (!box) throw new ToolSecretsKeyMissingError();
        return [name, box.seal(value)];
      }),
    );
    return { ...tool, headers };
  });
}

/** The tools with their MCP header values opened, for the call. Throws SecretBoxError when a value was sealed under a key not configured. */
export function openToolSecrets(tools: readonly AgentTool[], box: SecretBox | undefined): AgentTool[] {
  return tools.map((tool) => {
    if (!isMcpServer(tool) || !tool.headers || Object.keys(tool.headers).length === 0) return tool;
    if (!box) throw new ToolSecretsKeyMissingError();
    return { ...tool, headers: Object.fromEntries(Object.entries(tool.headers).map(([name, sealed]) => [name, box.open(sealed)])) };
  });
}

/** The sealed values of `tools` sealed again under the box's current key (key rotation); `changed` when any was. */
export function resealToolSecrets(tools: readonly AgentTool[], box: SecretBox): { tools: AgentTool[]; changed: boolean } {
  let changed = false;
  const resealed = tools.map((tool) => {
    if (!isMcpServer(tool) || !tool.headers) return tool;
    const headers = Object.fromEntries(
      Object.entries(tool.headers).map(([name, sealed]) => {
        if (!box.needsRotation(sealed)) return [name, sealed];
        changed = true;
        return [name, box.reseal(sealed)];
      }),
    );
    return { ...tool, headers };
  });
  return { tools: resealed, changed };
}

/** MCP headers need ENCRYPTION_KEY to be stored or used. */
export class ToolSecretsKeyMissingError extends Error {
  override name = 'ToolSecretsKeyMissingError';
  constructor() {
    super('ENCRYPTION_KEY is not set: MCP server headers cannot be stored or read');
  }
}
