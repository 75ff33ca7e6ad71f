import type Anthropic from '@anthropic-ai/sdk';
import type { MessageCreateParamsBase, RawMessageStreamEvent, ToolUnion } from '@anthropic-ai/sdk/resources/messages/messages';
import { registry } from './registry.ts';
import { retryPolicyFor, withRetries } from './retry.ts';
import { sdkClientOptions } from './sdk-client.ts';
import { classifySdkError, incompleteStream } from './sdk-errors.ts';
import type { BuiltinTool, ChatRequest, ChatResult, Provider, ProviderDefinition, ProviderSettings, StopReason, Usage } from './types.ts';

const id = 'anthropic';
const defaultMaxTokens = 4096;

/** Anthropic's server tools: Claude runs the search or fetch itself within the turn. */
const serverTools: Record<BuiltinTool, ToolUnion> = {
  web_search: { type: 'web_search_20250305', name: 'web_search' },
  web_fetch: { type: 'web_fetch_20250910', name: 'web_fetch' },
};

/** Claude 5 generation models accept only the default sampling parameters. */
const fixedSampling = /^claude-(opus|sonnet|haiku|fable|mythos)-5/;

const stopReasons: Record<string, StopReason> = {
  end_turn: 'end_turn',
  max_tokens: 'max_tokens',
  stop_sequence: 'stop_sequence',
  tool_use: 'tool_use',
  refusal: 'refusal',
};

type Sdk = typeof Anthropic;

/** The SDK loads on the first call, so a process that never calls Anthropic never holds it in memory. */
let sdk: Promise<Sdk> | undefined;
const loadSdk = () => (sdk ??= import('@anthropic-ai/sdk').then((module) => module.default));

const classifierFor = (Sdk: Sdk) => (error: unknown) =>
  classifySdkError(id, error, Sdk, (e) => {
    const body = (e as { error?: { error?: { message?: string; type?: string } } }).error;
    return { message: (e as { apiMessage?: string | null }).apiMessage ?? body?.error?.message, type: body?.error?.type };
  });

interface Accumulated {
  text: string;
  model: string;
  rawStopReason: string | null;
  usage: Usage;
}

function usageFrom(usage: {
  input_tokens: number | null;
  output_tokens: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}, previous?: Usage): Usage {
  return {
    inputTokens: usage.input_tokens ?? previous?.inputTokens ?? 0,
    outputTokens: usage.output_tokens ?? previous?.outputTokens ?? 0,
    cacheReadTokens: usage.cache_read_input_tokens ?? previous?.cacheReadTokens ?? 0,
    cacheWriteTokens: usage.cache_creation_input_tokens ?? previous?.cacheWriteTokens ?? 0,
  };
}

function applyEvent(state: Accumulated, event: RawMessageStreamEvent, onDelta: (text: string) => void): void {
  switch (event.type) {
    case 'message_start':
      state.model = event.message.model;
      state.usage = usageFrom(event.message.usage);
      break;
    case 'content_block_delta':
      if (event.delta.type === 'text_delta') {
        state.text += event.delta.text;
        onDelta(event.delta.text);
      }
      break;
    case 'message_delta':
      state.rawStopReason = event.delta.stop_reason;
      state.usage = usageFrom(event.usage, state.usage);
      break;
    default:
      break;
  }
}

class AnthropicProvider implements Provider {
  readonly id = id;
  readonly #settings: ProviderSettings;
  #client: Anthropic | undefined;

  constructor(settings: ProviderSettings) {
    this.#settings = settings;
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    const warnings: string[] = [];
    // `temperature` is deprecated in the SDK's types but still accepted by pre-Claude-5 models.
    const params: MessageCreateParamsBase & { temperature?: number } = {
      model: request.model,
      max_tokens: request.maxTokens ?? defaultMaxTokens,
      messages: request.messages.map((m) => ({ role: m.role, content: m.content })),
    };
    if (request.system) params.system = request.system;
    if (request.temperature !== undefined) {
      if (fixedSampling.test(request.model)) warnings.push(`temperature is not supported by ${request.model} and was not sent`);
      else params.temperature = request.temperature;
    }
    const tools = [...new Set(request.tools ?? [])];
    if (tools.length > 0) params.tools = tools.map((tool) => serverTools[tool]);
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

  async #plain(client: Anthropic, params: MessageCreateParamsBase, signal: AbortSignal): Promise<Accumulated> {
    const message = await client.messages.create({ ...params, stream: false }, { signal });
    const text = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
    return { text, model: message.model, rawStopReason: message.stop_reason, usage: usageFrom(message.usage) };
  }

  async #streamed(client: Anthropic, params: MessageCreateParamsBase, signal: AbortSignal, onDelta: (text: string) => void): Promise<Accumulated> {
    const stream = await client.messages.create({ ...params, stream: true }, { signal });
    const state: Accumulated = { text: '', model: params.model, rawStopReason: null, usage: { inputTokens: 0, outputTokens: 0 } };
    let stopped = false;
    for await (const event of stream) {
      applyEvent(state, event, onDelta);
      if (event.type === 'message_stop') stopped = true;
    }
    if (!stopped) throw incompleteStream(id);
    return state;
  }
}

export const anthropicProvider: ProviderDefinition = {
  id,
  name: 'Anthropic',
  env: { apiKey: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL' },
  matches: (model) => model.startsWith('claude-'),
  supportedTools: ['web_search', 'web_fetch'],
  create: (settings) => new AnthropicProvider(settings),
};

registry.register(anthropicProvider);
