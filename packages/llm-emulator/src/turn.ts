/**
 * What the emulated model does on one turn: answer in text, call tools (several at
 * once when asked), or give structured output — decided from the script entry and
 * from directives in the prompt.
 */

import type { Conversation } from './reply.ts';
import { invalidForSchema, sampleFromSchema } from './sample.ts';
import type { ScriptedResponse, ScriptedToolCall } from './script.ts';

export interface OfferedTool {
  name: string;
  inputSchema: unknown;
}

/** `auto`: the model may call tools; `any`/`required`: it must; `none`: it must not; `tool`: it must call this one. */
export type ToolChoice = { type: 'auto' | 'any' | 'none' } | { type: 'tool'; name: string };

export interface TurnRequest {
  conversation: Conversation;
  tools: OfferedTool[];
  toolChoice: ToolChoice;
  parallelToolCalls: boolean;
  /** The JSON Schema of a structured answer (OpenAI `response_format`, Anthropic `output_config.format`). */
  outputSchema?: unknown;
}

export interface PlannedToolCall {
  name: string;
  /** The arguments as JSON text, exactly as they will be streamed. */
  arguments: string;
}

export type PlannedTurn = { kind: 'text'; text: string | undefined } | { kind: 'tools'; calls: PlannedToolCall[] };

const directiveHead = /\[\[emulator:(tool|invalid-output)(?:@(\d+))?(?:=([A-Za-z0-9_.:-]+))?/g;

interface ToolDirective {
  turn: number;
  name: string;
  input?: unknown;
}

/** The most recent user message that carries text: the prompt the directives are read from. */
function promptIndex(conversation: Conversation): number {
  for (let i = conversation.messages.length - 1; i >= 0; i -= 1) {
    const message = conversation.messages[i]!;
    if (message.role === 'user' && message.text.trim()) return i;
  }
  return -1;
}

/** 1 for the first model turn after the prompt, 2 after one round of tool calls, ... */
function currentTurn(conversation: Conversation, prompt: number): number {
  return conversation.messages.slice(prompt + 1).filter((m) => m.role === 'assistant').length + 1;
}

/** The JSON after a directive's name: the shortest text up to a `]]` that parses (JSON may itself hold `]]`). */
function directiveInput(text: string, from: number): { input?: unknown; end: number } {
  const start = from + (text.slice(from).match(/^\s*/)?.[0].length ?? 0);
  let close = text.indexOf(']]', start);
  if (close === start) return { end: close + 2 };
  const first = close;
  while (close >= 0) {
    try {
      return { input: JSON.parse(text.slice(start, close)), end: close + 2 };
    } catch {
      close = text.indexOf(']]', close + 1);
    }
  }
  if (first < 0) return { end: text.length };
  return { input: { text: text.slice(start, first).trim() }, end: first + 2 };
}

function parseDirectives(text: string): { tools: ToolDirective[]; invalidOutput?: number } {
  const tools: ToolDirective[] = [];
  let invalidOutput: number | undefined;
  for (const match of text.matchAll(directiveHead)) {
    const [head, kind, turn, value] = match;
    if (kind === 'invalid-output') {
      invalidOutput = value ? Number(value) : Number.POSITIVE_INFINITY;
      continue;
    }
    if (!value) continue;
    const { input } = directiveInput(text, match.index + head.length);
    tools.push({ turn: turn ? Number(turn) : 1, name: value, input });
  }
  return { tools, invalidOutput };
}

/**
 * A structured answer is invalid while fewer than `invalidOutput` answers came after the user
 * message holding the directive: a repair instruction sent after it does not reset the count.
 */
function wantsInvalid(conversation: Conversation, entry: ScriptedResponse): boolean {
  if (entry.invalidOutput) return true;
  for (let i = conversation.messages.length - 1; i >= 0; i -= 1) {
    const message = conversation.messages[i]!;
    if (message.role !== 'user') continue;
    const { invalidOutput } = parseDirectives(message.text);
    if (invalidOutput !== undefined) return currentTurn(conversation, i) <= invalidOutput;
  }
  return false;
}

function structuredValue(schema: unknown, invalid: boolean, scripted: unknown): unknown {
  if (scripted !== undefined) return scripted;
  return invalid ? invalidForSchema(schema) : sampleFromSchema(schema);
}

export function planTurn(request: TurnRequest, entry: ScriptedResponse): PlannedTurn {
  const { conversation } = request;
  const prompt = promptIndex(conversation);
  const directives = parseDirectives(prompt >= 0 ? conversation.messages[prompt]!.text : '');
  const invalid = wantsInvalid(conversation, entry);
  const offered = new Map(request.tools.map((tool) => [tool.name, tool]));
  const toCall = (name: string, input: unknown): PlannedToolCall => ({
    name,
    arguments: JSON.stringify(input === undefined ? sampleFromSchema(offered.get(name)?.inputSchema) : input),
  });

  if (entry.toolCalls?.length) {
    const calls = entry.toolCalls.map((call: ScriptedToolCall) => toCall(call.name, call.input));
    return { kind: 'tools', calls: request.parallelToolCalls ? calls : calls.slice(0, 1) };
  }

  const choice = request.toolChoice;
  if (choice.type === 'tool') {
    // A forced tool is how structured output is asked for where there is no native mechanism.
    const schema = offered.get(choice.name)?.inputSchema;
    return { kind: 'tools', calls: [{ name: choice.name, arguments: JSON.stringify(structuredValue(schema, invalid, entry.json)) }] };
  }

  if (choice.type !== 'none' && prompt >= 0) {
    const turn = currentTurn(conversation, prompt);
    const due = directives.tools.filter((d) => d.turn === turn && offered.has(d.name));
    if (due.length > 0) {
      const calls = due.map((d) => toCall(d.name, d.input));
      return { kind: 'tools', calls: request.parallelToolCalls ? calls : calls.slice(0, 1) };
    }
    if (choice.type === 'any' && request.tools.length > 0) return { kind: 'tools', calls: [toCall(request.tools[0]!.name, undefined)] };
  }

  if (request.outputSchema !== undefined && entry.reply === undefined) {
    return { kind: 'text', text: JSON.stringify(structuredValue(request.outputSchema, invalid, entry.json)) };
  }
  return { kind: 'text', text: entry.reply };
}

/** Tool arguments split the way providers stream them: several fragments that join to the JSON text. */
export function argumentChunks(json: string): string[] {
  const size = Math.max(1, Math.ceil(json.length / 4));
  const chunks: string[] = [];
  for (let i = 0; i < json.length; i += size) chunks.push(json.slice(i, i + size));
  return chunks.length > 0 ? chunks : [''];
}
