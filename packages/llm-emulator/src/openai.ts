import { BadRequest, randomId, sendJson, startEventStream, writeEvent } from './http.ts';
import { contentText } from './reply.ts';
import { type Dialect, type ReplyContext, retryAfterHeader } from './dialect.ts';

const errorKinds: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  404: { type: 'invalid_request_error', code: 'model_not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
};

const errorKind = (status: number) => errorKinds[status] ?? (status >= 500 ? { type: 'server_error', code: null } : { type: 'invalid_request_error', code: null });

const finishReason = (reply: ReplyContext) => (reply.plan.truncated ? 'length' : 'stop');

function usageBody(reply: ReplyContext) {
  // OpenAI counts cached tokens inside prompt_tokens.
  const promptTokens = reply.usage.inputTokens + reply.usage.cacheReadTokens;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: reply.usage.outputTokens,
    total_tokens: promptTokens + reply.usage.outputTokens,
    prompt_tokens_details: { cached_tokens: reply.usage.cacheReadTokens, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

function chunk(reply: ReplyContext, choices: unknown[], includeUsage: boolean, usage: unknown = null) {
  return JSON.stringify({
    id: reply.id,
    object: 'chat.completion.chunk',
    created: Math.floor(Date.now() / 1000),
    model: reply.model,
    system_fingerprint: 'fp_emulator',
    choices,
    ...(includeUsage ? { usage } : {}),
  });
}

/** OpenAI Chat Completions API (`POST /v1/chat/completions`). */
export const openai: Dialect = {
  provider: 'openai',
  path: '/v1/chat/completions',

  apiKey(req) {
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return match?.[1]?.trim() || undefined;
  },

  parse(body) {
    if (typeof body.model !== 'string' || !body.model) throw new BadRequest("you must provide a model parameter");
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new BadRequest("[] is too short - 'messages'");
    }
    const system: string[] = [];
    const messages: { role: string; text: string }[] = [];
    body.messages.forEach((m: { role?: unknown; content?: unknown }, i: number) => {
      if (m?.role === 'system' || m?.role === 'developer') system.push(contentText(m.content));
      else if (m?.role === 'user' || m?.role === 'assistant') messages.push({ role: m.role, text: contentText(m.content) });
      else throw new BadRequest(`Invalid value for 'messages[${i}].role'`);
    });
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;
    if (maxTokens !== undefined && maxTokens !== null && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)) {
      throw new BadRequest("Invalid 'max_completion_tokens': integer below minimum value");
    }
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    return {
      conversation: { model: body.model, system: system.join('\n'), messages },
      stream: body.stream === true,
      maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
      includeUsage: streamOptions?.include_usage === true,
    };
  },

  sendError(res, status, message, retryAfterSeconds) {
    const { type, code } = errorKind(status);
    sendJson(res, status, { error: { message, type, param: null, code } }, { 'x-request-id': randomId('req_'), ...retryAfterHeader(retryAfterSeconds) });
  },

  sendMessage(res, reply) {
    sendJson(res, 200, {
      id: reply.id,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: reply.model,
      system_fingerprint: 'fp_emulator',
      choices: [
        {
          index: 0,
          message: { role: 'assistant', content: reply.text, refusal: null, annotations: [] },
          logprobs: null,
          finish_reason: finishReason(reply),
        },
      ],
      usage: usageBody(reply),
      service_tier: 'default',
    });
  },

  streamStart(res, reply, request) {
    startEventStream(res, { 'x-request-id': randomId('req_') });
    writeEvent(res, chunk(reply, [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }], request.includeUsage));
  },

  streamDelta(res, reply, text) {
    return writeEvent(res, chunk(reply, [{ index: 0, delta: { content: text }, logprobs: null, finish_reason: null }], false));
  },

  streamEnd(res, reply, request) {
    writeEvent(res, chunk(reply, [{ index: 0, delta: {}, logprobs: null, finish_reason: finishReason(reply) }], request.includeUsage));
    if (request.includeUsage) writeEvent(res, chunk(reply, [], true, usageBody(reply)));
    writeEvent(res, '[DONE]');
    res.end();
  },

  streamError(res, status, message) {
    const { type, code } = errorKind(status);
    writeEvent(res, JSON.stringify({ error: { message, type, param: null, code } }));
    res.end();
  },
};
