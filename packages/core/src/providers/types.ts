/** The one interface every LLM provider implements: one chat turn, optionally streamed. */

import type { Logger } from '../logger.ts';
import type { RetryNotice, RetryPolicy } from './retry.ts';

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
  /**
   * Called before a transient failure is retried. A retried streamed call starts
   * over, so text already passed to `onDelta` will be sent again from the start.
   */
  onRetry?: (notice: RetryNotice) => void;
}

/**
 * Tokens of one call. `inputTokens` counts prompt tokens billed at the plain input
 * rate: cache reads and writes are counted separately, never also in `inputTokens`
 * (OpenAI's `prompt_tokens` includes its cached tokens; the provider subtracts them).
 */
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
  /** Per-attempt timeout in milliseconds. */
  timeoutMs?: number;
  /** Retries of transient errors inside one `chat` call. */
  maxRetries?: number;
  /** Backoff tuning (tests shorten it). */
  retry?: Partial<Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs' | 'maxRetryAfterMs'>>;
  /** Where skipped features and retries are logged. */
  logger?: Logger;
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
