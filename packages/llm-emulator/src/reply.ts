/** The deterministic content of an emulated reply, and its token accounting. */

export interface ToolResultSeen {
  toolCallId: string;
  content: string;
  isError: boolean;
}

export interface ConversationMessage {
  role: 'user' | 'assistant';
  text: string;
  /** Tool calls an assistant message made. */
  toolCalls?: { id: string; name: string }[];
  /** Tool results a user message (Anthropic) or a run of `tool` messages (OpenAI) carries. */
  toolResults?: ToolResultSeen[];
}

export interface Conversation {
  model: string;
  system: string;
  messages: ConversationMessage[];
}

export interface PlannedReply {
  /** The text split into streaming chunks; each chunk counts as one output token. */
  chunks: string[];
  inputTokens: number;
  /** True when `maxTokens` cut the reply short. */
  truncated: boolean;
}

const echoLimit = 600;

/**
 * By default the reply echoes the last user message, so a test can see what a
 * step received (step 2's reply contains step 1's output).
 */
export function defaultReplyText(conversation: Conversation): string {
  const lastUser = [...conversation.messages].reverse().find((m) => m.role === 'user');
  const results = lastUser?.toolResults ?? [];
  const resultsText = results.map((r) => `${r.isError ? 'error' : 'result'} ${r.content}`).join('; ');
  const said = [resultsText, lastUser?.text ?? ''].filter(Boolean).join(' ').replace(/\s+/g, ' ').trim();
  const echoed = said.length > echoLimit ? `${said.slice(0, echoLimit)}…` : said;
  return `Reply from ${conversation.model}: ${echoed}`;
}

/** Roughly four characters per token, at least one. */
export function estimateTokens(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

export function planReply(conversation: Conversation, text: string, maxTokens: number | undefined): PlannedReply {
  const all = text.match(/\S+\s*/g) ?? [];
  const limit = maxTokens && maxTokens > 0 ? maxTokens : Number.POSITIVE_INFINITY;
  const chunks = all.slice(0, limit);
  const prompt = [conversation.system, ...conversation.messages.flatMap((m) => [m.text, ...(m.toolResults ?? []).map((r) => r.content)])].join('\n');
  return { chunks, inputTokens: estimateTokens(prompt), truncated: all.length > chunks.length };
}

/** Text content of a message in either wire format (a string or an array of text blocks/parts). */
export function contentText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part) => (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string' ? (part as { text: string }).text : ''))
      .join('');
  }
  return '';
}

/**
 * Prompt directives for tests that cannot reach the emulator's admin API:
 * `[[emulator:latency=5000]]` and `[[emulator:tps=20]]` in any message.
 */
export function promptDirectives(conversation: Conversation): { latencyMs?: number; tokensPerSecond?: number } {
  const all = [conversation.system, ...conversation.messages.map((m) => m.text)].join('\n');
  const found: { latencyMs?: number; tokensPerSecond?: number } = {};
  for (const match of all.matchAll(/\[\[emulator:(latency|tps)=(\d+)\]\]/g)) {
    if (match[1] === 'latency') found.latencyMs = Number(match[2]);
    else found.tokensPerSecond = Number(match[2]);
  }
  return found;
}
