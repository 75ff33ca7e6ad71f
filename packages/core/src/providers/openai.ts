import type OpenAI from 'openai';
import type { ChatCompletionCreateParamsBase, ChatCompletionMessageParam } from 'openai/resources/chat/completions/completions';
import type { CompletionUsage } from 'openai/resources/completions';
import { registry } from './registry.ts';
import { retryPolicyFor, withRetries } from './retry.ts';
import { sdkClientOptions } from './sdk-client.ts';
import { classifySdkError, incompleteStream } from './sdk-errors.ts';
import type { ChatRequest, ChatResult, Provider, ProviderDefinition, ProviderSettings, StopReason, Usage } from './types.ts';

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
  model: string;
  rawStopReason: string | null;
  usage: Usage;
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
    const messages: ChatCompletionMessageParam[] = [];
    if (request.system) messages.push({ role: 'system', content: request.system });
    for (const m of request.messages) messages.push({ role: m.role, content: m.content });
    const params: ChatCompletionCreateParamsBase = { model: request.model, messages };
    if (request.maxTokens !== undefined) {
      // OpenAI's own models want max_completion_tokens; compatible servers commonly know only max_tokens.
      if (openAiModel.test(request.model)) params.max_completion_tokens = request.maxTokens;
      else params.max_tokens = request.maxTokens;
    }
    if (request.temperature !== undefined) {
      if (reasoningModel.test(request.model)) warnings.push(`temperature is not supported by ${request.model} and was not sent`);
      else params.temperature = request.temperature;
    }
    for (const tool of new Set(request.tools ?? [])) {
      warnings.push(`built-in tool ${tool} is not available on OpenAI Chat Completions and was skipped`);
    }
    for (const warning of warnings) this.#settings.logger?.warn({ provider: id, model: request.model }, warning);

    const Sdk = await loadSdk();
    const client = (this.#client ??= new Sdk(sdkClientOptions(this.#settings)));
    const result = await withRetries(
      { provider: id, policy: retryPolicyFor(this.#settings), signal: request.signal, classify: classifierFor(Sdk), onRetry: request.onRetry },
      (signal) => (request.onDelta ? this.#streamed(client, params, signal, request.onDelta) : this.#plain(client, params, signal)),
    );
    return {
      text: result.text,
      model: result.model,
      rawStopReason: result.rawStopReason,
      stopReason: (result.rawStopReason && stopReasons[result.rawStopReason]) || 'other',
      usage: result.usage,
      warnings,
    };
  }

  async #plain(client: OpenAI, params: ChatCompletionCreateParamsBase, signal: AbortSignal): Promise<Accumulated> {
    const completion = await client.chat.completions.create({ ...params, stream: false }, { signal });
    const choice = completion.choices[0];
    return {
      text: choice?.message.content ?? '',
      model: completion.model,
      rawStopReason: choice?.finish_reason ?? null,
      usage: usageFrom(completion.usage),
    };
  }

  async #streamed(client: OpenAI, params: ChatCompletionCreateParamsBase, signal: AbortSignal, onDelta: (text: string) => void): Promise<Accumulated> {
    const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }, { signal });
    const state: Accumulated = { text: '', model: params.model, rawStopReason: null, usage: usageFrom(null) };
    for await (const chunk of stream) {
      state.model = chunk.model || state.model;
      if (chunk.usage) state.usage = usageFrom(chunk.usage);
      const choice = chunk.choices[0];
      if (!choice) continue;
      const text = choice.delta?.content;
      if (text) {
        state.text += text;
        onDelta(text);
      }
      if (choice.finish_reason) state.rawStopReason = choice.finish_reason;
    }
    if (!state.rawStopReason) throw incompleteStream(id);
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
