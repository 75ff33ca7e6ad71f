/** Helpers shared by the provider modules: message parts, tool lists and tool-call arguments. */

import type { BuiltinTool, ChatMessage, ContentPart, ToolCall, ToolDefinition } from './types.ts';

export const partsOf = (content: ChatMessage['content']): ContentPart[] => (typeof content === 'string' ? [{ type: 'text', text: content }] : content);

export const textOf = (parts: ContentPart[]): string => parts.map((part) => (part.type === 'text' ? part.text : '')).join('');

export const isObject = (value: unknown): value is Record<string, unknown> => !!value && typeof value === 'object' && !Array.isArray(value);

export function splitTools(tools: readonly (BuiltinTool | ToolDefinition)[] | undefined): {
  builtins: BuiltinTool[];
  functions: ToolDefinition[];
} {
  const builtins = new Set<BuiltinTool>();
  const functions: ToolDefinition[] = [];
  for (const tool of tools ?? []) {
    if (typeof tool === 'string') builtins.add(tool);
    else functions.push(tool);
  }
  return { builtins: [...builtins], functions };
}

/** A complete tool call from its streamed or returned arguments text. */
export function toolCallFrom(id: string, name: string, inputText: string): ToolCall {
  if (!inputText.trim()) return { id, name, input: {}, inputText };
  try {
    return { id, name, input: JSON.parse(inputText), inputText };
  } catch (error) {
    return { id, name, input: {}, inputText, inputError: `the arguments are not valid JSON: ${(error as Error).message}` };
  }
}

export function assistantMessage(text: string, toolCalls: ToolCall[]): ChatMessage {
  if (toolCalls.length === 0) return { role: 'assistant', content: text };
  const parts: ContentPart[] = text ? [{ type: 'text', text }] : [];
  for (const call of toolCalls) parts.push({ type: 'tool_call', id: call.id, name: call.name, input: call.input });
  return { role: 'assistant', content: parts };
}

/** The name providers accept for a function or schema: letters, digits, `_` and `-`, at most 64. */
export function wireName(name: string | undefined, fallback: string): string {
  const cleaned = (name ?? '').replace(/[^a-zA-Z0-9_-]/g, '_').slice(0, 64);
  return cleaned || fallback;
}
