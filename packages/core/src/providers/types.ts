/** The one interface every LLM provider implements: one chat turn, optionally streamed. */

export type BuiltinTool = 'web_search' | 'web_fetch';
export const builtinTools = ['web_search', 'web_fetch'] as const satisfies readonly BuiltinTool[];

export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  /** The provider's own model id (without any `provider:` prefix). */
  model: string;
  system?: string;
  messages: ChatMessage[];
  tools?: BuiltinTool[];
  maxTokens?: number;
  temperature?: number;
  signal?: AbortSignal;
  /** Called with each text fragment as it streams in; when absent the call need not stream. */
  onDelta?: (text: string) => void;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
}

export type StopReason = 'end_turn' | 'max_tokens' | 'stop_sequence' | 'tool_use' | 'refusal' | 'other';

export interface ChatResult {
  text: string;
  stopReason: StopReason;
  /** The provider's own stop reason string, as sent. */
  rawStopReason: string | null;
  usage: Usage;
  /** Things the caller asked for that this provider skipped (e.g. unsupported built-in tools). */
  warnings: string[];
  /** The model id the provider reports having used. */
  model: string;
}

export interface ProviderSettings {
  apiKey: string;
  baseUrl?: string;
  /** Per-call timeout in milliseconds. */
  timeoutMs?: number;
  /** Retries of transient errors inside one `chat` call. */
  maxRetries?: number;
}

export interface Provider {
  readonly id: string;
  chat(request: ChatRequest): Promise<ChatResult>;
}

export interface ProviderDefinition {
  /** `anthropic`, `openai`. */
  id: string;
  name: string;
  /** The environment variables that configure it. */
  env: { apiKey: string; baseUrl: string };
  /** Whether a bare model id (no `provider:` prefix) belongs to this provider. */
  matches(model: string): boolean;
  /** Built-in tools this provider can honour; the rest are skipped with a warning. */
  supportedTools: readonly BuiltinTool[];
  create(settings: ProviderSettings): Provider;
}
