import { BadRequest, randomId, sendJson, startEventStream, writeEvent } from './http.ts';
import { anthropicCacheable } from './cache.ts';
import { type ConversationMessage, contentText, estimateTokens } from './reply.ts';
import { type Dialect, isObject, type ReplyContext, retryAfterHeader } from './dialect.ts';
import type { OfferedTool, ToolChoice } from './turn.ts';

const errorTypes: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const errorType = (status: number) => errorTypes[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');

function usageBody(reply: ReplyContext, outputTokens: number) {
  return {
    input_tokens: reply.usage.inputTokens,
    cache_creation_input_tokens: reply.usage.cacheWriteTokens,
    cache_read_input_tokens: reply.usage.cacheReadTokens,
    output_tokens: outputTokens,
  };
}

const stopReasons = { end: 'end_turn', max_tokens: 'max_tokens', tool_use: 'tool_use' } as const;
const stopReason = (reply: ReplyContext) => stopReasons[reply.stop];

/** Content blocks: position 0 is the text block when the reply has text; tool_use blocks follow. */
const hasText = (reply: ReplyContext) => reply.plan.chunks.length > 0 || reply.toolCalls.length === 0;
const toolBlockIndex = (reply: ReplyContext, position: number) => position + (hasText(reply) ? 1 : 0);

function readMessage(m: { role?: unknown; content?: unknown }, i: number): ConversationMessage {
  if (m?.role !== 'user' && m?.role !== 'assistant') throw new BadRequest(`messages.${i}.role: Input should be 'user' or 'assistant'`);
  const blocks = Array.isArray(m.content) ? (m.content as Record<string, unknown>[]) : [];
  const message: ConversationMessage = { role: m.role, text: contentText(m.content) };
  const toolCalls = blocks.filter((b) => b?.type === 'tool_use');
  const toolResults = blocks.filter((b) => b?.type === 'tool_result');
  if (m.role === 'assistant' && toolCalls.length > 0) {
    message.toolCalls = toolCalls.map((b, j) => {
      if (typeof b.id !== 'string' || typeof b.name !== 'string' || !isObject(b.input)) {
        throw new BadRequest(`messages.${i}.content.${j}.tool_use: id, name and input (an object) are required`);
      }
      return { id: b.id, name: b.name };
    });
  }
  if (m.role === 'user' && toolResults.length > 0) {
    message.toolResults = toolResults.map((b) => ({
      toolCallId: String(b.tool_use_id),
      content: contentText(b.content),
      isError: b.is_error === true,
    }));
  }
  if (m.role === 'assistant' && toolResults.length > 0) throw new BadRequest(`messages.${i}: tool_result blocks are only allowed in user messages`);
  return message;
}

/** The API's own rule: every tool_use is answered by a tool_result in the very next message, and only those. */
function checkToolPairs(messages: ConversationMessage[]): void {
  messages.forEach((message, i) => {
    const previous = messages[i - 1];
    const asked = new Set(previous?.role === 'assistant' ? (previous.toolCalls ?? []).map((c) => c.id) : []);
    for (const result of message.toolResults ?? []) {
      if (!asked.has(result.toolCallId)) {
        throw new BadRequest(
          `messages.${i}.content.0: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${result.toolCallId}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`,
        );
      }
    }
    if (message.role === 'assistant' && message.toolCalls?.length) {
      const answered = new Set((messages[i + 1]?.toolResults ?? []).map((r) => r.toolCallId));
      const missing = message.toolCalls.filter((c) => !answered.has(c.id)).map((c) => c.id);
      if (missing.length > 0 && i + 1 < messages.length) {
        throw new BadRequest(
          `messages.${i + 1}: \`tool_use\` ids were found without \`tool_result\` blocks immediately after: ${missing.join(', ')}. Each \`tool_use\` block must have a corresponding \`tool_result\` block in the next message.`,
        );
      }
    }
  });
}

function readTools(tools: unknown): OfferedTool[] {
  if (tools === undefined) return [];
  if (!Array.isArray(tools)) throw new BadRequest('tools: Input should be a valid list');
  const offered: OfferedTool[] = [];
  tools.forEach((tool: Record<string, unknown>, i) => {
    if (typeof tool?.name !== 'string' || !tool.name) throw new BadRequest(`tools.${i}.name: Field required`);
    // Server tools (web_search_20250305, ...) carry a versioned type and run on Anthropic's side.
    if (typeof tool.type === 'string' && tool.type !== 'custom') return;
    if (!isObject(tool.input_schema)) throw new BadRequest(`tools.${i}.custom.input_schema: Field required`);
    offered.push({ name: tool.name, inputSchema: tool.input_schema });
  });
  return offered;
}

function readToolChoice(choice: unknown, tools: OfferedTool[]): { toolChoice: ToolChoice; parallel: boolean } {
  if (choice === undefined) return { toolChoice: { type: 'auto' }, parallel: true };
  if (!isObject(choice)) throw new BadRequest('tool_choice: Input should be an object');
  const parallel = choice.disable_parallel_tool_use !== true;
  if (choice.type === 'tool') {
    if (typeof choice.name !== 'string' || !tools.some((t) => t.name === choice.name)) {
      throw new BadRequest(`tool_choice.tool.name: tool ${String(choice.name)} is not in tools`);
    }
    return { toolChoice: { type: 'tool', name: choice.name }, parallel };
  }
  if (choice.type === 'auto' || choice.type === 'any' || choice.type === 'none') return { toolChoice: { type: choice.type }, parallel };
  throw new BadRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'");
}

/** `output_config.format` (current) or the beta's top-level `output_format`. */
function readOutputSchema(body: Record<string, unknown>): unknown {
  const config = body.output_config;
  const format = isObject(config) ? config.format : body.output_format;
  if (format === undefined || format === null) return undefined;
  if (!isObject(format) || format.type !== 'json_schema' || !isObject(format.schema)) {
    throw new BadRequest('output_config.format: Input should be {"type": "json_schema", "schema": {...}}');
  }
  return format.schema;
}

/** Anthropic Messages API (`POST /v1/messages`). */
export const anthropic: Dialect = {
  provider: 'anthropic',
  path: '/v1/messages',
  toolCallIdPrefix: 'toolu_',

  // The API takes `x-api-key`; recent SDKs send the key as a bearer token instead.
  apiKey(req) {
    const key = req.headers['x-api-key'];
    if (typeof key === 'string' && key) return key;
    return /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '')?.[1]?.trim() || undefined;
  },

  parse(body) {
    if (typeof body.model !== 'string' || !body.model) throw new BadRequest('model: Field required');
    if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens) || body.max_tokens < 1) {
      throw new BadRequest('max_tokens: Field required');
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) throw new BadRequest('messages: at least one message is required');
    const messages = body.messages.map(readMessage);
    checkToolPairs(messages);
    const tools = readTools(body.tools);
    const { toolChoice, parallel } = readToolChoice(body.tool_choice, tools);
    const { toolsText, cache } = anthropicCacheable(body);
    return {
      cache,
      toolTokens: toolsText ? estimateTokens(toolsText) : 0,
      conversation: { model: body.model, system: contentText(body.system), messages },
      stream: body.stream === true,
      maxTokens: body.max_tokens,
      includeUsage: true,
      tools,
      toolChoice,
      parallelToolCalls: parallel,
      outputSchema: readOutputSchema(body),
    };
  },

  sendError(res, status, message, retryAfterSeconds) {
    const body = { type: 'error', error: { type: errorType(status), message }, request_id: randomId('req_') };
    sendJson(res, status, body, { 'request-id': body.request_id, ...retryAfterHeader(retryAfterSeconds) });
  },

  sendMessage(res, reply) {
    sendJson(
      res,
      200,
      {
        id: reply.id,
        type: 'message',
        role: 'assistant',
        model: reply.model,
        content: [
          ...(hasText(reply) ? [{ type: 'text', text: reply.text }] : []),
          ...reply.toolCalls.map((call) => ({ type: 'tool_use', id: call.id, name: call.name, input: JSON.parse(call.arguments) })),
        ],
        stop_reason: stopReason(reply),
        stop_sequence: null,
        usage: usageBody(reply, reply.usage.outputTokens),
      },
      { 'request-id': randomId('req_') },
    );
  },

  streamStart(res, reply) {
    startEventStream(res, { 'request-id': randomId('req_') });
    const message = {
      id: reply.id,
      type: 'message',
      role: 'assistant',
      model: reply.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: usageBody(reply, 1),
    };
    writeEvent(res, JSON.stringify({ type: 'message_start', message }), 'message_start');
    if (hasText(reply)) writeEvent(res, JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), 'content_block_start');
    writeEvent(res, JSON.stringify({ type: 'ping' }), 'ping');
  },

  streamDelta(res, _reply, text) {
    return writeEvent(res, JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }), 'content_block_delta');
  },

  streamToolCallStart(res, reply, position) {
    const index = toolBlockIndex(reply, position);
    // The text block closes before the first tool_use block opens.
    if (position === 0 && hasText(reply)) writeEvent(res, JSON.stringify({ type: 'content_block_stop', index: 0 }), 'content_block_stop');
    const call = reply.toolCalls[position]!;
    const block = { type: 'tool_use', id: call.id, name: call.name, input: {} };
    return writeEvent(res, JSON.stringify({ type: 'content_block_start', index, content_block: block }), 'content_block_start');
  },

  streamToolCallDelta(res, reply, position, fragment) {
    const delta = { type: 'input_json_delta', partial_json: fragment };
    return writeEvent(res, JSON.stringify({ type: 'content_block_delta', index: toolBlockIndex(reply, position), delta }), 'content_block_delta');
  },

  streamToolCallEnd(res, reply, position) {
    return writeEvent(res, JSON.stringify({ type: 'content_block_stop', index: toolBlockIndex(reply, position) }), 'content_block_stop');
  },

  streamEnd(res, reply) {
    if (hasText(reply) && reply.toolCalls.length === 0) writeEvent(res, JSON.stringify({ type: 'content_block_stop', index: 0 }), 'content_block_stop');
    writeEvent(
      res,
      JSON.stringify({
        type: 'message_delta',
        delta: { stop_reason: stopReason(reply), stop_sequence: null },
        usage: { output_tokens: reply.usage.outputTokens },
      }),
      'message_delta',
    );
    writeEvent(res, JSON.stringify({ type: 'message_stop' }), 'message_stop');
    res.end();
  },

  streamError(res, status, message) {
    writeEvent(res, JSON.stringify({ type: 'error', error: { type: errorType(status), message } }), 'error');
    res.end();
  },
};
