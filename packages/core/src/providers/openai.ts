import type OpenAI from 'openai';
import type {
  ChatCompletionCreateParamsBase,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
  ChatCompletionTool,
} from 'openai/resources/chat/completions/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { openAiStrictProblem } from '../json-schema/openai-strict.ts';
import { assistantMessage, partsOf, splitTools, textOf, toolCallFrom, wireName } from './messages.ts';
import { registry } from './registry.ts';
import { retryPolicyFor, withRetries } from './retry.ts';
import { sdkClientOptions } from './sdk-client.ts';
import { classifySdkError, incompleteStream } from './sdk-errors.ts';
import { StreamedText } from '../text/streamed-text.ts';
import type { ChatMessage, ChatRequest, ChatResult, Provider, ProviderDefinition, ProviderSettings, StopReason, ToolCall, ToolCallDelta, Usage } from './types.ts';

const id = 'openai';

/** Model ids of OpenAI itself; anything else is a model of an OpenAI-compatible server. */
const openAiModel = /^(gpt-|o1|o3|o4|chatgpt-)/;
/** Reasoning models take only the default temperature. */
const reasoningModel = /^(o1|o3|o4|gpt-5)/;

const stopReasons: Record<string, StopReason> = {
  stop: 'end_turn',
  length: 'max_tokens',
  content_filter: 'refusal',
  tool_calls: 'tool_use',
  function_call: 'tool_use',
};

type Sdk = typeof OpenAI;

/** The SDK loads on the first call, so a process that never calls OpenAI never holds it in memory. */
let sdk: Promise<Sdk> | undefined;
const loadSdk = () => (sdk ??= import('openai').then((module) => module.default));

const classifierFor = (Sdk: Sdk) => (error: unknown) =>
  classifySdkError(id, error, Sdk, (e) => {
    const body = (e as { error?: { message?: string; type?: string } }).error;
    return { message: body?.message, type: body?.type };
  });

/** OpenAI counts cached tokens inside `prompt_tokens`; ours are disjoint (see Usage). */
function usageFrom(usage: CompletionUsage | null | undefined): Usage {
  const cached = usage?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    inputTokens: (usage?.prompt_tokens ?? 0) - cached,
    outputTokens: usage?.completion_tokens ?? 0,
    cacheReadTokens: cached,
    cacheWriteTokens: 0,
  };
}

interface Accumulated {
  text: string;
  toolCalls: ToolCall[];
  refusal: string | null;
  model: string;
  rawStopReason: string | null;
  usage: Usage;
}

/**
 * The wire messages: an assistant's tool calls become `tool_calls`; each tool result a
 * `tool` message (OpenAI has no error flag: a failed tool's output is prefixed `Error: `).
 */
function wireMessages(system: string | undefined, messages: ChatMessage[]): ChatCompletionMessageParam[] {
  const wire: ChatCompletionMessageParam[] = [];
  if (system) wire.push({ role: 'system', content: system });
  for (const message of messages) {
    const parts = partsOf(message.content);
    const text = textOf(parts);
    if (message.role === 'assistant') {
      const calls: ChatCompletionMessageToolCall[] = [];
      for (const part of parts) {
        if (part.type === 'tool_call') calls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: JSON.stringify(part.input ?? {}) } });
      }
      wire.push(calls.length > 0 ? { role: 'assistant', content: text || null, tool_calls: calls } : { role: 'assistant', content: text });
      continue;
    }
    for (const part of parts) {
      if (part.type === 'tool_result') wire.push({ role: 'tool', tool_call_id: part.toolCallId, content: part.isError ? `Error: ${part.output}` : part.output });
    }
    if (typeof message.content === 'string' || text) wire.push({ role: 'user', content: text });
  }
  return wire;
}

/** Tool-call fragments by index, as Chat Completions streams them (id and name first, then arguments). */
class ToolCallAssembler {
  readonly #calls = new Map<number, { id: string; name: string; json: StreamedText }>();

  add(fragment: { index: number; id?: string; function?: { name?: string; arguments?: string } }, onDelta?: (delta: ToolCallDelta) => void): void {
    let call = this.#calls.get(fragment.index);
    if (!call) this.#calls.set(fragment.index, (call = { id: '', name: '', json: new StreamedText() }));
    if (fragment.id) call.id = fragment.id;
    if (fragment.function?.name) call.name += fragment.function.name;
    const piece = fragment.function?.arguments;
    if (piece) {
      call.json.append(piece);
      onDelta?.({ index: fragment.index, id: call.id, name: call.name, inputTextDelta: piece });
    }
  }

  done(): ToolCall[] {
    return [...this.#calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => toolCallFrom(call.id, call.name, call.json.toString()));
  }
}

class OpenAiProvider implements Provider {
  readonly id = id;
  readonly #settings: ProviderSettings;
  #client: OpenAI | undefined;

  constructor(settings: ProviderSettings) {
    this.#settings = settings;
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    const warnings: string[] = [];
    const params: ChatCompletionCreateParamsBase = { model: request.model, messages: wireMessages(request.system, request.messages) };
    const ownModel = openAiModel.test(request.model);
    if (request.maxTokens !== undefined) {
      // OpenAI's own models want max_completion_tokens; compatible servers commonly know only max_tokens.
      if (ownModel) params.max_completion_tokens = request.maxTokens;
      else params.max_tokens = request.maxTokens;
    }
    if (request.temperature !== undefined) {
      if (reasoningModel.test(request.model)) warnings.push(`temperature is not supported by ${request.model} and was not sent`);
      else params.temperature = request.temperature;
    }
    const { builtins, functions } = splitTools(request.tools);
    for (const tool of builtins) {
      warnings.push(`built-in tool ${tool} is not available on OpenAI Chat Completions and was skipped`);
    }
    if (functions.length > 0) {
      params.tools = functions.map((tool): ChatCompletionTool => {
        const parameters = { ...tool.inputSchema, type: 'object' };
        const strict = ownModel && openAiStrictProblem(parameters) === null;
        return { type: 'function', function: { name: tool.name, ...(tool.description ? { description: tool.description } : {}), parameters, ...(strict ? { strict } : {}) } };
      });
      if (request.parallelToolCalls !== undefined) params.parallel_tool_calls = request.parallelToolCalls;
      if (request.toolChoice) params.tool_choice = request.toolChoice;
    }
    if (request.outputSchema) {
      // Strict decoding where the schema allows it; otherwise the schema guides the model and the caller validates.
      const strict = openAiStrictProblem(request.outputSchema) === null;
      params.response_format = {
        type: 'json_schema',
        json_schema: { name: wireName(request.outputSchemaName, 'output'), schema: request.outputSchema, strict },
      };
    }
    for (const warning of warnings) this.#settings.logger?.warn({ provider: id, model: request.model }, warning);

    const Sdk = await loadSdk();
    const client = (this.#client ??= new Sdk(sdkClientOptions(this.#settings)));
    const streams = request.onDelta || request.onToolCallDelta;
    const result = await withRetries(
      { provider: id, policy: retryPolicyFor(this.#settings), signal: request.signal, classify: classifierFor(Sdk), onRetry: request.onRetry },
      (signal) => (streams ? this.#streamed(client, params, signal, request) : this.#plain(client, params, signal)),
    );
    let stopReason: StopReason = (result.rawStopReason && stopReasons[result.rawStopReason]) || 'other';
    // Some compatible servers finish with `stop` even when they called tools.
    if (result.toolCalls.length > 0) stopReason = 'tool_use';
    if (result.refusal) stopReason = 'refusal';
    const text = result.text || result.refusal || '';
    return {
      text,
      toolCalls: result.toolCalls,
      message: assistantMessage(text, result.toolCalls),
      model: result.model,
      rawStopReason: result.rawStopReason,
      stopReason,
      usage: result.usage,
      warnings,
      ...(request.outputSchema ? { structuredOutput: 'native' as const } : {}),
    };
  }

  async #plain(client: OpenAI, params: ChatCompletionCreateParamsBase, signal: AbortSignal): Promise<Accumulated> {
    const completion = await client.chat.completions.create({ ...params, stream: false }, { signal });
    const choice = completion.choices[0];
    const calls = new ToolCallAssembler();
    for (const [index, call] of (choice?.message.tool_calls ?? []).entries()) {
      if (call.type === 'function') calls.add({ index, id: call.id, function: call.function });
    }
    return {
      text: choice?.message.content ?? '',
      toolCalls: calls.done(),
      refusal: choice?.message.refusal ?? null,
      model: completion.model,
      rawStopReason: choice?.finish_reason ?? null,
      usage: usageFrom(completion.usage),
    };
  }

  async #streamed(client: OpenAI, params: ChatCompletionCreateParamsBase, signal: AbortSignal, request: ChatRequest): Promise<Accumulated> {
    const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }, { signal });
    const state: Accumulated = { text: '', toolCalls: [], refusal: null, model: params.model, rawStopReason: null, usage: usageFrom(null) };
    const calls = new ToolCallAssembler();
    const text = new StreamedText();
    for await (const chunk of stream) {
      state.model = chunk.model || state.model;
      if (chunk.usage) state.usage = usageFrom(chunk.usage);
      const choice = chunk.choices[0];
      if (!choice) continue;
      const fragment = choice.delta?.content;
      if (fragment) {
        text.append(fragment);
        request.onDelta?.(fragment);
      }
      if (choice.delta?.refusal) state.refusal = (state.refusal ?? '') + choice.delta.refusal;
      for (const fragment of choice.delta?.tool_calls ?? []) calls.add(fragment, request.onToolCallDelta);
      if (choice.finish_reason) state.rawStopReason = choice.finish_reason;
    }
    if (!state.rawStopReason) throw incompleteStream(id);
    state.text = text.toString();
    state.toolCalls = calls.done();
    return state;
  }
}

export const openaiProvider: ProviderDefinition = {
  id,
  name: 'OpenAI',
  env: { apiKey: 'OPENAI_API_KEY', baseUrl: 'OPENAI_BASE_URL' },
  matches: (model) => openAiModel.test(model),
  supportedTools: [],
  create: (settings) => new OpenAiProvider(settings),
};

registry.register(openaiProvider);
