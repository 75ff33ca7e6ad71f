/**
 * A safe upper bound on a request's input tokens without asking the provider.
 *
 * Both providers' tokenizers are byte-level BPE: every token stands for at least
 * one byte of UTF-8 text, so a text never has more tokens than bytes. Structured
 * content (tool calls and results) is counted as its JSON, which is longer than
 * the text the provider tokenizes. On top come the tokens the providers add
 * themselves: a few per message for roles and separators, and the system prompt
 * that enables tool use (a few hundred tokens on Anthropic).
 */

/** Per message: role markers and separators (OpenAI documents 3-4; kept generous). */
export const perMessageOverhead = 8;
/** Per request: reply priming and framing. */
export const perRequestOverhead = 16;
/** When tools are offered: the providers' tool-use system prompt (Anthropic: 346 tokens on Claude 4 models, kept generous). */
export const toolsOverhead = 1024;

export interface BoundedRequest {
  system?: string;
  messages: ReadonlyArray<{ role: string; content: unknown }>;
  /** Tool definitions as sent (function tools, MCP tools, built-in tool names). */
  tools?: readonly unknown[];
}

const bytes = (value: unknown): number => Buffer.byteLength(typeof value === 'string' ? value : (JSON.stringify(value) ?? ''), 'utf8');

export function inputTokenUpperBound(request: BoundedRequest): number {
  let total = perRequestOverhead + (request.system ? bytes(request.system) : 0);
  for (const message of request.messages) total += perMessageOverhead + bytes(message.content);
  if (request.tools && request.tools.length > 0) total += toolsOverhead + bytes(request.tools);
  return total;
}
