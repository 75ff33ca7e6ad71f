import type Anthropic from '@anthropic-ai/sdk';
import type {
  ContentBlock,
  ContentBlockParam,
  MessageCreateParamsBase,
  MessageParam,
  RawMessageStreamEvent,
  ToolChoice,
  ToolUnion,
} from '@anthropic-ai/sdk/resources/messages/messages';
import { countAnthropicInputTokens, type CountTokensRequest } from '../budgets/anthropic-count.ts';
import { assistantMessage, isObject, partsOf, splitTools, toolCallFrom, wireName } from './messages.ts';
import { registry } from './registry.ts';
import { retryPolicyFor, withRetries } from './retry.ts';
import { anthropicClientOptions } from './sdk-client.ts';
import { classifySdkError, incompleteStream } from './sdk-errors.ts';
import { StreamedText } from '../text/streamed-text.ts';
import type {
  BuiltinTool,
  ChatMessage,
  ChatRequest,
  ChatResult,
  JsonSchema,
  Provider,
  ProviderDefinition,
  ProviderSettings,
  StopReason,
  StructuredOutputMode,
  ToolCall,
  ToolCallDelta,
  Usage,
} from './types.ts';

const id = 'anthropic';
const defaultMaxTokens = 4096;

/** Anthropic's server tools: Claude runs the search or fetch itself within the turn. */
const serverTools: Record<BuiltinTool, ToolUnion> = {
  web_search: { type: 'web_search_20250305', name: 'web_search' },
  web_fetch: { type: 'web_fetch_20250910', name: 'web_fetch' },
};

/** Claude 5 generation models accept only the default sampling parameters. */
const fixedSampling = /^claude-(opus|sonnet|haiku|fable|mythos)-5/;

/**
 * Models with native structured outputs (`output_config.format`, generally available
 * without a beta header: Claude Opus 4.5+, Sonnet 4.5+, Haiku 4.5 in the 4 family).
 * Others get the schema as a forced tool whose input is the answer.
 */
const nativeStructuredOutput = /^claude-(opus|sonnet|haiku)-4-[5-9](?!\d)/;
export const anthropicHasNativeStructuredOutput = (model: string): boolean => nativeStructuredOutput.test(model);

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
  toolCalls: ToolCall[];
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

/** The wire messages: tool calls become `tool_use` blocks, results `tool_result` blocks (first in their message, as the API requires). */
function wireMessages(messages: ChatMessage[]): MessageParam[] {
  return messages.map((message) => {
    if (typeof message.content === 'string') return { role: message.role, content: message.content };
    const results: ContentBlockParam[] = [];
    const others: ContentBlockParam[] = [];
    for (const part of message.content) {
      if (part.type === 'text') {
        if (part.text) others.push({ type: 'text', text: part.text });
      } else if (part.type === 'tool_call') {
        others.push({ type: 'tool_use', id: part.id, name: part.name, input: isObject(part.input) ? part.input : {} });
      } else {
        results.push({ type: 'tool_result', tool_use_id: part.toolCallId, content: part.output, ...(part.isError ? { is_error: true } : {}) });
      }
    }
    return { role: message.role, content: [...results, ...others] };
  });
}

/**
 * The forced tool for structured output. Its input must be an object, so a schema of
 * another type is wrapped as `{value: ...}` and unwrapped from the answer.
 */
interface AnswerTool {
  name: string;
  wrapped: boolean;
}

function answerTool(schema: JsonSchema, name: string): { tool: ToolUnion; answer: AnswerTool } {
  const wrapped = schema.type !== 'object';
  const { $schema: _dialect, ...rest } = schema;
  const inputSchema = wrapped ? { type: 'object' as const, properties: { value: rest }, required: ['value'] } : { ...rest, type: 'object' as const };
  return {
    tool: { name, description: 'Give your final answer by calling this tool; its input is the answer.', input_schema: inputSchema },
    answer: { name, wrapped },
  };
}

interface StreamCallbacks {
  onDelta: (text: string) => void;
  onToolCallDelta?: (delta: ToolCallDelta) => void;
  onUsage?: (usage: Usage) => void;
  answer?: AnswerTool;
}

class StreamState implements Accumulated {
  readonly #text = new StreamedText();
  toolCalls: ToolCall[] = [];
  model: string;
  rawStopReason: string | null = null;
  usage: Usage = { inputTokens: 0, outputTokens: 0 };
  stopped = false;
  /** tool_use blocks by content index: id, name, arguments so far. */
  readonly #open = new Map<number, { id: string; name: string; json: StreamedText; position: number }>();

  constructor(model: string, private readonly callbacks: StreamCallbacks) {
    this.model = model;
  }

  get text(): string {
    return this.#text.toString();
  }

  apply(event: RawMessageStreamEvent): void {
    switch (event.type) {
      case 'message_start':
        this.model = event.message.model;
        this.usage = usageFrom(event.message.usage);
        this.callbacks.onUsage?.(this.usage);
        break;
      case 'content_block_start':
        if (event.content_block.type === 'tool_use') {
          const { id, name } = event.content_block;
          this.#open.set(event.index, { id, name, json: new StreamedText(), position: this.#open.size });
        }
        break;
      case 'content_block_delta':
        if (event.delta.type === 'text_delta') {
          this.#text.append(event.delta.text);
          this.callbacks.onDelta(event.delta.text);
        } else if (event.delta.type === 'input_json_delta') {
          const call = this.#open.get(event.index);
          if (!call || !event.delta.partial_json) break;
          call.json.append(event.delta.partial_json);
          const { answer } = this.callbacks;
          // The forced answer tool streams as the answer's text (when it is the answer itself, not wrapped).
          if (answer && call.name === answer.name) {
            if (!answer.wrapped) this.callbacks.onDelta(event.delta.partial_json);
          } else {
            this.callbacks.onToolCallDelta?.({ index: call.position, id: call.id, name: call.name, inputTextDelta: event.delta.partial_json });
          }
        }
        break;
      case 'message_delta':
        this.rawStopReason = event.delta.stop_reason;
        this.usage = usageFrom(event.usage, this.usage);
        this.callbacks.onUsage?.(this.usage);
        break;
      case 'message_stop':
        this.stopped = true;
        this.toolCalls = [...this.#open.values()].map((call) => toolCallFrom(call.id, call.name, call.json.toString()));
        break;
      default:
        break;
    }
  }
}

function fromContent(content: ContentBlock[]): { text: string; toolCalls: ToolCall[] } {
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of content) {
    if (block.type === 'text') text += block.text;
    else if (block.type === 'tool_use') toolCalls.push({ id: block.id, name: block.name, input: block.input, inputText: JSON.stringify(block.input) });
  }
  return { text, toolCalls };
}

const ephemeral = { type: 'ephemeral' } as const;

interface Prepared {
  Sdk: Sdk;
  params: MessageCreateParamsBase & { temperature?: number };
  warnings: string[];
  answer: AnswerTool | undefined;
  structuredOutput: StructuredOutputMode | undefined;
}

class AnthropicProvider implements Provider {
  readonly id = id;
  readonly #settings: ProviderSettings;
  #client: Anthropic | undefined;

  constructor(settings: ProviderSettings) {
    this.#settings = settings;
  }

  /** The Messages request for `request` and what the answer needs to be read back. */
  async #prepare(request: ChatRequest): Promise<Prepared> {
    const warnings: string[] = [];
    // `temperature` is deprecated in the SDK's types but still accepted by pre-Claude-5 models.
    const params: MessageCreateParamsBase & { temperature?: number } = {
      model: request.model,
      max_tokens: request.maxTokens ?? defaultMaxTokens,
      messages: wireMessages(request.messages),
    };
    if (request.system) params.system = request.cacheSystemPrompt ? [{ type: 'text', text: request.system, cache_control: ephemeral }] : request.system;
    if (request.temperature !== undefined) {
      if (fixedSampling.test(request.model)) warnings.push(`temperature is not supported by ${request.model} and was not sent`);
      else params.temperature = request.temperature;
    }
    const { builtins, functions } = splitTools(request.tools);
    const tools: ToolUnion[] = builtins.map((tool) => serverTools[tool]);
    for (const tool of functions) {
      tools.push({ name: tool.name, ...(tool.description ? { description: tool.description } : {}), input_schema: { ...tool.inputSchema, type: 'object' } });
    }

    const Sdk = await loadSdk();
    let structuredOutput: StructuredOutputMode | undefined;
    let answer: AnswerTool | undefined;
    if (request.outputSchema) {
      const native = anthropicHasNativeStructuredOutput(request.model) ? await nativeFormat(request.outputSchema) : undefined;
      if (native) {
        params.output_config = { format: { type: 'json_schema', schema: native } };
        structuredOutput = 'native';
      } else {
        let name = wireName(request.outputSchemaName, 'output');
        while (tools.some((tool) => 'name' in tool && tool.name === name)) name = `${name.slice(0, 57)}_answer`;
        const forced = answerTool(request.outputSchema, name);
        tools.push(forced.tool);
        answer = forced.answer;
        structuredOutput = 'tool';
      }
    }
    if (tools.length > 0) {
      // One breakpoint after the last tool caches every tool definition (they come first in the prompt).
      if (request.cacheSystemPrompt) tools[tools.length - 1] = { ...tools[tools.length - 1]!, cache_control: ephemeral } as ToolUnion;
      params.tools = tools;
    }
    const choice = toolChoice(request, functions.length > 0 || builtins.length > 0, answer);
    if (choice) params.tool_choice = choice;
    return { Sdk, params, warnings, answer, structuredOutput };
  }

  /** Counted by `POST /v1/messages/count_tokens` (the same system, messages and tools), with a margin. */
  async countInputTokens(request: ChatRequest): Promise<number> {
    const { params } = await this.#prepare(request);
    const { max_tokens: _max, temperature: _temperature, ...countable } = params as MessageCreateParamsBase & { temperature?: number };
    return countAnthropicInputTokens(this.#settings, countable as CountTokensRequest, request.signal);
  }

  async chat(request: ChatRequest): Promise<ChatResult> {
    const { Sdk, params, warnings, answer, structuredOutput } = await this.#prepare(request);
    for (const warning of warnings) this.#settings.logger?.warn({ provider: id, model: request.model }, warning);

    const client = (this.#client ??= new Sdk(anthropicClientOptions(this.#settings)));
    const result = await withRetries(
      { provider: id, policy: retryPolicyFor(this.#settings), signal: request.signal, classify: classifierFor(Sdk), onRetry: request.onRetry },
      (signal) =>
        request.onDelta || request.onToolCallDelta
          ? this.#streamed(client, params, signal, { onDelta: request.onDelta ?? (() => {}), onToolCallDelta: request.onToolCallDelta, onUsage: request.onUsage, answer })
          : this.#plain(client, params, signal),
    );
    let stopReason: StopReason = (result.rawStopReason && stopReasons[result.rawStopReason]) || 'other';
    let { text, toolCalls } = result;
    const answered = answer && toolCalls.find((call) => call.name === answer.name);
    if (answer && answered) {
      // The forced tool's input is the answer: it reads as a text answer, not a tool call.
      const input = answered.input as Record<string, unknown>;
      text = answered.inputError ? answered.inputText : JSON.stringify(answer.wrapped ? input.value : input);
      if (toolCalls.length > 1) warnings.push(`the model called other tools together with its final answer; they were ignored`);
      toolCalls = [];
      if (stopReason === 'tool_use') stopReason = 'end_turn';
    }
    return {
      text,
      toolCalls,
      message: assistantMessage(text, toolCalls),
      model: result.model,
      rawStopReason: result.rawStopReason,
      stopReason,
      usage: result.usage,
      warnings,
      ...(structuredOutput ? { structuredOutput } : {}),
    };
  }

  async #plain(client: Anthropic, params: MessageCreateParamsBase, signal: AbortSignal): Promise<Accumulated> {
    const message = await client.messages.create({ ...params, stream: false }, { signal });
    return { ...fromContent(message.content), model: message.model, rawStopReason: message.stop_reason, usage: usageFrom(message.usage) };
  }

  async #streamed(client: Anthropic, params: MessageCreateParamsBase, signal: AbortSignal, callbacks: StreamCallbacks): Promise<Accumulated> {
    const stream = await client.messages.create({ ...params, stream: true }, { signal });
    const state = new StreamState(params.model, callbacks);
    for await (const event of stream) state.apply(event);
    if (!state.stopped) throw incompleteStream(id);
    return state;
  }
}

/** `tool_choice`: parallel calls, required/none, and the forced answer tool. */
function toolChoice(request: ChatRequest, hasTools: boolean, answer: AnswerTool | undefined): ToolChoice | undefined {
  const parallel = request.parallelToolCalls === false ? { disable_parallel_tool_use: true } : {};
  // With other tools the model must still be free to call them; any tool call is then required, the answer being one.
  if (answer) return hasTools ? { type: 'any', ...parallel } : { type: 'tool', name: answer.name, ...parallel };
  if (!hasTools) return undefined;
  if (request.toolChoice === 'required') return { type: 'any', ...parallel };
  if (request.toolChoice === 'none') return { type: 'none' };
  return request.parallelToolCalls === false ? { type: 'auto', ...parallel } : undefined;
}

/** The schema in the subset Anthropic accepts (unsupported constraints move into descriptions); undefined when it cannot be expressed. */
async function nativeFormat(schema: JsonSchema): Promise<JsonSchema | undefined> {
  const { transformJSONSchema } = await import('@anthropic-ai/sdk/lib/transform-json-schema');
  try {
    return transformJSONSchema(schema) as JsonSchema;
  } catch {
    return undefined;
  }
}

export const anthropicProvider: ProviderDefinition = {
  id,
  name: 'Anthropic',
  env: { apiKey: 'ANTHROPIC_API_KEY', baseUrl: 'ANTHROPIC_BASE_URL' },
  matches: (model) => model.startsWith('claude-'),
  supportedTools: ['web_search', 'web_fetch'],
  defaultMaxTokens,
  writesPromptCache: true,
  create: (settings) => new AnthropicProvider(settings),
};

registry.register(anthropicProvider);
