import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CacheableRequest } from './cache.ts';
import type { PlannedReply } from './reply.ts';
import type { EmulatedProvider } from './script.ts';
import type { TurnRequest } from './turn.ts';

export interface ParsedRequest extends TurnRequest {
  stream: boolean;
  maxTokens: number | undefined;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage: boolean;
  /** What the provider's prompt cache sees of the request. */
  cache?: CacheableRequest;
  /** Prompt tokens of the tool definitions (on top of the conversation's). */
  toolTokens?: number;
}

export interface ReplyToolCall {
  id: string;
  name: string;
  /** The whole arguments JSON text. */
  arguments: string;
  /** `arguments` in the fragments it is streamed in. */
  chunks: string[];
}

export type ReplyStop = 'end' | 'max_tokens' | 'tool_use';

export interface ReplyContext {
  id: string;
  model: string;
  text: string;
  plan: PlannedReply;
  toolCalls: ReplyToolCall[];
  stop: ReplyStop;
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
}

/** One provider's wire format: how to read a request and how to write replies and errors. */
export interface Dialect {
  provider: EmulatedProvider;
  path: string;
  /** The id format of this provider's tool calls (`toolu_…`, `call_…`). */
  toolCallIdPrefix: string;
  apiKey(req: IncomingMessage): string | undefined;
  /** Throws BadRequest with the provider-style message when the body is invalid. */
  parse(body: Record<string, unknown>): ParsedRequest;
  sendError(res: ServerResponse, status: number, message: string, retryAfterSeconds?: number): void;
  sendMessage(res: ServerResponse, reply: ReplyContext): void;
  streamStart(res: ServerResponse, reply: ReplyContext, request: ParsedRequest): void;
  streamDelta(res: ServerResponse, reply: ReplyContext, text: string): boolean;
  /** Streams the start of tool call `position` (0-based among the reply's calls). */
  streamToolCallStart(res: ServerResponse, reply: ReplyContext, position: number): boolean;
  streamToolCallDelta(res: ServerResponse, reply: ReplyContext, position: number, fragment: string): boolean;
  streamToolCallEnd(res: ServerResponse, reply: ReplyContext, position: number): boolean;
  streamEnd(res: ServerResponse, reply: ReplyContext, request: ParsedRequest): void;
  /** A failure after the stream started (e.g. Anthropic's `overloaded_error` event). */
  streamError(res: ServerResponse, status: number, message: string): void;
}

export function retryAfterHeader(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
}

export const isObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);
