import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Conversation, PlannedReply } from './reply.ts';
import type { EmulatedProvider } from './script.ts';

export interface ParsedRequest {
  conversation: Conversation;
  stream: boolean;
  maxTokens: number | undefined;
  /** OpenAI `stream_options.include_usage`. */
  includeUsage: boolean;
}

export interface ReplyContext {
  id: string;
  model: string;
  text: string;
  plan: PlannedReply;
  usage: { inputTokens: number; outputTokens: number; cacheReadTokens: number; cacheWriteTokens: number };
}

/** One provider's wire format: how to read a request and how to write replies and errors. */
export interface Dialect {
  provider: EmulatedProvider;
  path: string;
  apiKey(req: IncomingMessage): string | undefined;
  /** Throws BadRequest with the provider-style message when the body is invalid. */
  parse(body: Record<string, unknown>): ParsedRequest;
  sendError(res: ServerResponse, status: number, message: string, retryAfterSeconds?: number): void;
  sendMessage(res: ServerResponse, reply: ReplyContext): void;
  streamStart(res: ServerResponse, reply: ReplyContext, request: ParsedRequest): void;
  streamDelta(res: ServerResponse, reply: ReplyContext, text: string): boolean;
  streamEnd(res: ServerResponse, reply: ReplyContext, request: ParsedRequest): void;
  /** A failure after the stream started (e.g. Anthropic's `overloaded_error` event). */
  streamError(res: ServerResponse, status: number, message: string): void;
}

export function retryAfterHeader(seconds: number | undefined): Record<string, string> {
  return seconds === undefined ? {} : { 'retry-after': String(seconds) };
}
