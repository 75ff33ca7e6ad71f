/** The one interface every LLM provider implements: one chat turn, optionally streamed. */

import type { Logger } from '../logger.ts';
import type { RetryNotice, RetryPolicy } from './retry.ts';

export type BuiltinTool = 'web_search' | 'web_fetch';
export const builtinTools = ['web_search', 'web_fetch'] as const satisfies readonly BuiltinTool[];

/** A JSON Schema object (draft 2020-12 / draft-07 keywords). */
export type JsonSchema = Record<string, unknown>;

/** A function the model may call: its input is JSON valid for `inputSchema`. */
export interface ToolDefinition {
  name: string;
  description?: string;
  inputSchema: JsonSchema;
}

export interface TextPart {
  type: 'text';
  text: string;
}

/** A tool call the model made (in an assistant message). */
export interface ToolCallPart {
  type: 'tool_call';
  id: string;
  name: string;
  /** The parsed arguments (an object for well-formed calls). */
  input: unknown;
}

/** The answer to one tool call (in the user message that follows the assistant's calls). */
export interface ToolResultPart {
  type: 'tool_result';
  toolCallId: string;
  /** The result as the model reads it: text, or JSON text. */
  output: string;
  /** The tool failed; the model is told so (Anthropic `is_error`; OpenAI gets an `Error:` prefix). */
  isError?: boolean;
}

export type ContentPart = TextPart | ToolCallPart | ToolResultPart;

/**
 * One message. Plain text as a string; parts for tool turns: an assistant message
 * holds its text and `tool_call` parts, the user message after it the `tool_result`
 * of every call (each provider maps this to its own wire format).
 */
export interface ChatMessage {
  role: 'user' | 'assistant';
  content: string | ContentPart[];
}

/** A fragment of a tool call's arguments as they stream in. */
export interface ToolCallDelta {
  /** The call's position among this turn's calls (0-based). */
  index: number;
  id: string;
  name: string;
  /** The next piece of the arguments' JSON text. */
  inputTextDelta: string;
}

/** A tool call of this turn, complete. */
export interface ToolCall {
  id: string;
  name: string;
  /** The parsed arguments; `{}` when they were not valid JSON (see `inputError`). */
  input: unknown;
  /** The arguments exactly as the model wrote them. */
  inputText: string;
  /** Set when `inputText` is not valid JSON (e.g. cut short by max_tokens). */
  inputError?: string;
}

/** How a structured answer was asked for: the provider's native mechanism or a forced tool. */
export type StructuredOutputMode = 'native' | 'tool';

export interface ChatRequest {
  /** The provider's own model id (without any `provider:` prefix). */
  model: string;
  system?: string;
  messages: ChatMessage[];
  /** Built-in tools by name and function tools by definition. */
  tools?: (BuiltinTool | ToolDefinition)[];
  /**
   * Whether the model may ask for several tool calls in one turn (default: the
   * provider's default, which is yes). Anthropic `disable_parallel_tool_use`,
   * OpenAI `parallel_tool_calls`.
   */
  parallelToolCalls?: boolean;
  /** `auto` (default): the model decides; `required`: it must call a tool; `none`: it must not. */
  toolChoice?: 'auto' | 'required' | 'none';
  /**
   * Ask for a JSON answer valid for this schema. The result's `text` is then the JSON
   * text whatever mechanism was used (see `ChatResult.structuredOutput`); the caller
   * validates it (see `validateJson`).
   */
  outputSchema?: JsonSchema;
  /** A name for the schema (OpenAI `json_schema.name`, the forced tool's name); default `output`. */
  outputSchemaName?: string;
  maxTokens?: number;
  temperature?: number;
  /**
   * Mark the system prompt and the tools cacheable where the provider supports it
   * (Anthropic: a `cache_control` breakpoint on the system prompt and on the last tool).
   * OpenAI caches long prompts by itself; its cached tokens are counted either way.
   */
  cacheSystemPrompt?: boolean;
  signal?: AbortSignal;
  /** Called with each text fragment as it streams in; when absent the call need not stream. */
  onDelta?: (text: string) => void;
  /** Called with each fragment of a tool call's arguments as it streams in (streamed calls only). */
  onToolCallDelta?: (delta: ToolCallDelta) => void;
  /**
   * Called with the usage the provider reports while the answer streams (Anthropic: the
   * input and cache tokens at the start, the output tokens so far with each usage update).
   * The exact final usage is the result's.
   */
  onUsage?: (usage: Usage) => void;
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
  /** The answer's text (the JSON text for structured output). */
  text: string;
  /**
   * Tool calls the model asks for, in order (stopReason `tool_use`). Always set by the
   * built-in providers; optional so that v1.2 implementations of Provider still type-check.
   */
  toolCalls?: ToolCall[];
  /** This turn as an assistant message (text and tool calls), to append to the history as is. Always set by the built-in providers. */
  message?: ChatMessage;
  /** Set when `outputSchema` was given: how the structured answer was obtained. */
  structuredOutput?: StructuredOutputMode;
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
  /**
   * The input tokens `request` would be billed for, counted by the provider and rounded up
   * to a safe upper bound; absent where the provider has no token-counting endpoint.
   */
  countInputTokens?(request: ChatRequest): Promise<number>;
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
  /** The output limit sent when a request sets no `maxTokens`; absent: the model's own maximum. */
  defaultMaxTokens?: number;
  /** Whether `cacheSystemPrompt` makes its calls write the prompt cache (priced at the cache-write rate). */
  writesPromptCache?: boolean;
  create(settings: ProviderSettings): Provider;
}
