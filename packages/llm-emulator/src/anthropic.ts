import { BadRequest, randomId, sendJson, startEventStream, writeEvent } from './http.ts';
import { contentText } from './reply.ts';
import { type Dialect, type ReplyContext, retryAfterHeader } from './dialect.ts';

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

const stopReason = (reply: ReplyContext) => (reply.plan.truncated ? 'max_tokens' : 'end_turn');

/** Anthropic Messages API (`POST /v1/messages`). */
export const anthropic: Dialect = {
  provider: 'anthropic',
  path: '/v1/messages',

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
    const messages = body.messages.map((m: { role?: unknown; content?: unknown }, i: number) => {
      if (m?.role !== 'user' && m?.role !== 'assistant') throw new BadRequest(`messages.${i}.role: Input should be 'user' or 'assistant'`);
      return { role: m.role, text: contentText(m.content) };
    });
    if (body.tools !== undefined && !Array.isArray(body.tools)) throw new BadRequest('tools: Input should be a valid list');
    return {
      conversation: { model: body.model, system: contentText(body.system), messages },
      stream: body.stream === true,
      maxTokens: body.max_tokens,
      includeUsage: true,
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
        content: [{ type: 'text', text: reply.text }],
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
    writeEvent(res, JSON.stringify({ type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }), 'content_block_start');
    writeEvent(res, JSON.stringify({ type: 'ping' }), 'ping');
  },

  streamDelta(res, _reply, text) {
    return writeEvent(res, JSON.stringify({ type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text } }), 'content_block_delta');
  },

  streamEnd(res, reply) {
    writeEvent(res, JSON.stringify({ type: 'content_block_stop', index: 0 }), 'content_block_stop');
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
