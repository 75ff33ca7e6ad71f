import { BadRequest, randomId, sendJson, startEventStream, writeEvent } from './http.ts';
import { openaiCacheable } from './cache.ts';
import { type ConversationMessage, contentText, estimateTokens } from './reply.ts';
import { type Dialect, isObject, type ReplyContext, retryAfterHeader } from './dialect.ts';
import type { OfferedTool, ToolChoice } from './turn.ts';

const errorKinds: Record<number, { type: string; code: string | null }> = {
  400: { type: 'invalid_request_error', code: null },
  401: { type: 'invalid_request_error', code: 'invalid_api_key' },
  403: { type: 'invalid_request_error', code: 'unsupported_country_region_territory' },
  404: { type: 'invalid_request_error', code: 'model_not_found' },
  429: { type: 'requests', code: 'rate_limit_exceeded' },
};

const errorKind = (status: number) => errorKinds[status] ?? (status >= 500 ? { type: 'server_error', code: null } : { type: 'invalid_request_error', code: null });

const finishReasons = { end: 'stop', max_tokens: 'length', tool_use: 'tool_calls' } as const;
const finishReason = (reply: ReplyContext) => finishReasons[reply.stop];

function readMessages(raw: Record<string, unknown>[]): { system: string; messages: ConversationMessage[] } {
  const system: string[] = [];
  const messages: ConversationMessage[] = [];
  let pending: Set<string> | undefined;
  raw.forEach((m: Record<string, unknown>, i) => {
    if (m?.role !== 'tool' && pending?.size) {
      throw new BadRequest(
        `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`,
      );
    }
    if (m?.role === 'system' || m?.role === 'developer') system.push(contentText(m.content));
    else if (m?.role === 'user') messages.push({ role: 'user', text: contentText(m.content) });
    else if (m?.role === 'assistant') {
      const message: ConversationMessage = { role: 'assistant', text: contentText(m.content) };
      if (Array.isArray(m.tool_calls) && m.tool_calls.length > 0) {
        message.toolCalls = m.tool_calls.map((call: Record<string, unknown>, j) => {
          const fn = call?.function as Record<string, unknown> | undefined;
          if (typeof call?.id !== 'string' || typeof fn?.name !== 'string' || typeof fn.arguments !== 'string') {
            throw new BadRequest(`Missing required parameter: 'messages[${i}].tool_calls[${j}].function'.`);
          }
          return { id: call.id, name: fn.name };
        });
        pending = new Set(message.toolCalls.map((c) => c.id));
      }
      messages.push(message);
    } else if (m?.role === 'tool') {
      const id = String(m.tool_call_id);
      if (!pending?.has(id)) {
        throw new BadRequest("Invalid parameter: messages with role 'tool' must be a response to a preceeding message with 'tool_calls'.");
      }
      pending.delete(id);
      // Consecutive tool messages answer one assistant turn: they read as one message of results.
      const last = messages.at(-1);
      const result = { toolCallId: id, content: contentText(m.content), isError: false };
      if (last?.role === 'user' && last.toolResults && !last.text) last.toolResults.push(result);
      else messages.push({ role: 'user', text: '', toolResults: [result] });
    } else throw new BadRequest(`Invalid value for 'messages[${i}].role'`);
  });
  if (pending?.size) {
    throw new BadRequest(
      `An assistant message with 'tool_calls' must be followed by tool messages responding to each 'tool_call_id'. The following tool_call_ids did not have response messages: ${[...pending].join(', ')}`,
    );
  }
  return { system: system.join('\n'), messages };
}

function readTools(tools: unknown): OfferedTool[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw new BadRequest("Invalid type for 'tools': expected an array");
  return tools.map((tool: Record<string, unknown>, i) => {
    const fn = tool?.function as Record<string, unknown> | undefined;
    if (tool?.type !== 'function' || typeof fn?.name !== 'string') throw new BadRequest(`Missing required parameter: 'tools[${i}].function'.`);
    if (fn.strict === true) checkStrictSchema(fn.parameters, `function '${fn.name}'`);
    return { name: fn.name, inputSchema: fn.parameters ?? { type: 'object', properties: {} } };
  });
}

function readToolChoice(choice: unknown, tools: OfferedTool[]): ToolChoice {
  if (choice === undefined || choice === null || choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  const name = isObject(choice) && isObject(choice.function) ? choice.function.name : undefined;
  if (typeof name === 'string' && tools.some((t) => t.name === name)) return { type: 'tool', name };
  throw new BadRequest("Invalid value for 'tool_choice': expected 'none', 'auto', 'required' or a named function in 'tools'.");
}

/** The main rule OpenAI enforces on strict schemas: every object closed, every property required. */
function checkStrictSchema(schema: unknown, owner: string, path = '()'): void {
  if (!isObject(schema)) return;
  const isObjectSchema = schema.type === 'object' || (Array.isArray(schema.type) && schema.type.includes('object')) || isObject(schema.properties);
  if (isObjectSchema) {
    if (schema.additionalProperties !== false) {
      throw new BadRequest(`Invalid schema for ${owner}: In context=${path}, 'additionalProperties' is required to be supplied and to be false.`);
    }
    const keys = Object.keys(isObject(schema.properties) ? schema.properties : {});
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    const missing = keys.find((key) => !required.has(key));
    if (missing) {
      throw new BadRequest(`Invalid schema for ${owner}: In context=${path}, 'required' is required to be supplied and to be an array including every key in properties. Missing '${missing}'.`);
    }
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key === 'properties' && isObject(value)) for (const [name, sub] of Object.entries(value)) checkStrictSchema(sub, owner, `${path}, 'properties', '${name}'`);
    else if ((key === 'items' || key === 'additionalProperties') && isObject(value)) checkStrictSchema(value, owner, `${path}, '${key}'`);
    else if ((key === 'anyOf' || key === 'allOf' || key === 'prefixItems') && Array.isArray(value)) value.forEach((sub, i) => checkStrictSchema(sub, owner, `${path}, '${key}', ${i}`));
    else if ((key === '$defs' || key === 'definitions') && isObject(value)) for (const [name, sub] of Object.entries(value)) checkStrictSchema(sub, owner, `${path}, '${key}', '${name}'`);
  }
}

function readResponseFormat(format: unknown): unknown {
  if (format === undefined || format === null) return undefined;
  if (!isObject(format)) throw new BadRequest("Invalid type for 'response_format': expected an object");
  if (format.type === 'text' || format.type === 'json_object') return undefined;
  if (format.type !== 'json_schema') throw new BadRequest("Invalid value for 'response_format.type'");
  const spec = format.json_schema;
  if (!isObject(spec) || typeof spec.name !== 'string' || !spec.name) throw new BadRequest("Missing required parameter: 'response_format.json_schema.name'.");
  if (!/^[a-zA-Z0-9_-]{1,64}$/.test(spec.name)) throw new BadRequest("Invalid 'response_format.json_schema.name': string does not match pattern. Expected a string that matches the pattern '^[a-zA-Z0-9_-]+$'.");
  if (spec.strict === true) checkStrictSchema(spec.schema, `response_format '${spec.name}'`);
  return spec.schema ?? {};
}

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
  toolCallIdPrefix: 'call_',

  apiKey(req) {
    const match = /^Bearer\s+(.+)$/i.exec(req.headers.authorization ?? '');
    return match?.[1]?.trim() || undefined;
  },

  parse(body) {
    if (typeof body.model !== 'string' || !body.model) throw new BadRequest("you must provide a model parameter");
    if (!Array.isArray(body.messages) || body.messages.length === 0) {
      throw new BadRequest("[] is too short - 'messages'");
    }
    const { system, messages } = readMessages(body.messages as Record<string, unknown>[]);
    const tools = readTools(body.tools);
    const maxTokens = body.max_completion_tokens ?? body.max_tokens;
    if (maxTokens !== undefined && maxTokens !== null && (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1)) {
      throw new BadRequest("Invalid 'max_completion_tokens': integer below minimum value");
    }
    const streamOptions = body.stream_options as { include_usage?: unknown } | undefined;
    const { toolsText, cache } = openaiCacheable(body);
    return {
      cache,
      toolTokens: toolsText ? estimateTokens(toolsText) : 0,
      conversation: { model: body.model, system, messages },
      stream: body.stream === true,
      maxTokens: typeof maxTokens === 'number' ? maxTokens : undefined,
      includeUsage: streamOptions?.include_usage === true,
      tools,
      toolChoice: readToolChoice(body.tool_choice, tools),
      parallelToolCalls: body.parallel_tool_calls !== false,
      outputSchema: readResponseFormat(body.response_format),
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
          message: {
            role: 'assistant',
            content: reply.toolCalls.length > 0 && !reply.text ? null : reply.text,
            refusal: null,
            annotations: [],
            ...(reply.toolCalls.length > 0
              ? { tool_calls: reply.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })) }
              : {}),
          },
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

  streamToolCallStart(res, reply, position) {
    const call = reply.toolCalls[position]!;
    const delta = { tool_calls: [{ index: position, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] };
    return writeEvent(res, chunk(reply, [{ index: 0, delta, logprobs: null, finish_reason: null }], false));
  },

  streamToolCallDelta(res, reply, position, fragment) {
    const delta = { tool_calls: [{ index: position, function: { arguments: fragment } }] };
    return writeEvent(res, chunk(reply, [{ index: 0, delta, logprobs: null, finish_reason: null }], false));
  },

  streamToolCallEnd() {
    return true;
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
