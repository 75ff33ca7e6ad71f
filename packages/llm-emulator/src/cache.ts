/**
 * The providers' prompt caches, as they bill them.
 *
 * Anthropic caches what a request marks: the prompt (tools, then system, then messages) up
 * to and including the last block with `cache_control`. The first request with that prefix
 * writes it (`cache_creation_input_tokens`), later ones within five minutes read it
 * (`cache_read_input_tokens`, and each read keeps it five more minutes); `input_tokens` is
 * the rest of the prompt. A prefix shorter than the model's minimum is not cached at all.
 *
 * OpenAI caches by itself: a prompt of 1,024 tokens or more that starts like an earlier
 * one reports the shared start as `prompt_tokens_details.cached_tokens`, counted in steps
 * of 128 tokens from 1,024 (and still inside `prompt_tokens`).
 */
import { createHash } from 'node:crypto';
import { estimateTokens } from './reply.ts';
import type { EmulatedProvider } from './script.ts';

/** What the prompt cache sees of one request. */
export interface CacheableRequest {
  /** Anthropic: the prompt text up to the last `cache_control` breakpoint; absent without one. */
  breakpointPrefix?: string;
  /** OpenAI: the whole prompt as text, for automatic prefix caching. */
  prompt?: string;
}

export interface CacheUsage {
  cacheReadTokens: number;
  cacheWriteTokens: number;
}

const anthropicTtlMs = 5 * 60_000;
const openaiTtlMs = 10 * 60_000;
const openaiMinimum = 1024;
const openaiIncrement = 128;
/** Earlier OpenAI prompts kept per model. */
const openaiRemembered = 50;

/** Anthropic's minimum cacheable prompt length, by model (its prompt-caching documentation). */
export function anthropicMinimumCacheable(model: string): number {
  if (/^claude-(haiku-4|opus-4-[5-9]|opus-[5-9])/.test(model)) return 4096;
  if (/^claude-(3-5-haiku|3-haiku|haiku-3)/.test(model)) return 2048;
  return 1024;
}

const none: CacheUsage = { cacheReadTokens: 0, cacheWriteTokens: 0 };
const tokensOf = (chars: number) => Math.floor(chars / 4);

export class PromptCache {
  readonly #anthropic = new Map<string, number>();
  readonly #openai = new Map<string, { prompt: string; expiresAt: number }[]>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The cache reads and writes of one request (never more than `promptTokens`), updating the cache. */
  account(provider: EmulatedProvider, model: string, request: CacheableRequest, promptTokens: number): CacheUsage {
    const usage = provider === 'anthropic' ? this.#anthropicCall(model, request.breakpointPrefix) : this.#openaiCall(model, request.prompt);
    const cap = (n: number) => Math.min(n, promptTokens);
    return { cacheReadTokens: cap(usage.cacheReadTokens), cacheWriteTokens: cap(usage.cacheWriteTokens) };
  }

  reset(): void {
    this.#anthropic.clear();
    this.#openai.clear();
  }

  #anthropicCall(model: string, prefix: string | undefined): CacheUsage {
    if (prefix === undefined) return none;
    const tokens = estimateTokens(prefix);
    if (tokens < anthropicMinimumCacheable(model)) return none;
    const key = `${model}\u0000${createHash('sha256').update(prefix).digest('hex')}`;
    const now = this.now();
    const hit = (this.#anthropic.get(key) ?? 0) > now;
    this.#anthropic.set(key, now + anthropicTtlMs);
    return hit ? { cacheReadTokens: tokens, cacheWriteTokens: 0 } : { cacheReadTokens: 0, cacheWriteTokens: tokens };
  }

  #openaiCall(model: string, prompt: string | undefined): CacheUsage {
    if (prompt === undefined || estimateTokens(prompt) < openaiMinimum) return none;
    const now = this.now();
    const earlier = (this.#openai.get(model) ?? []).filter((entry) => entry.expiresAt > now);
    let shared = 0;
    for (const entry of earlier) shared = Math.max(shared, commonPrefixLength(entry.prompt, prompt));
    this.#openai.set(model, [...earlier, { prompt, expiresAt: now + openaiTtlMs }].slice(-openaiRemembered));
    const sharedTokens = tokensOf(shared);
    if (sharedTokens < openaiMinimum) return none;
    return { cacheReadTokens: openaiMinimum + Math.floor((sharedTokens - openaiMinimum) / openaiIncrement) * openaiIncrement, cacheWriteTokens: 0 };
  }
}

const blockText = (block: unknown): string => {
  if (typeof block === 'string') return block;
  if (!block || typeof block !== 'object') return '';
  const { cache_control: _breakpoint, ...rest } = block as Record<string, unknown>;
  return typeof rest.text === 'string' && rest.type === 'text' ? rest.text : JSON.stringify(rest);
};
const hasBreakpoint = (block: unknown) => !!block && typeof block === 'object' && !!(block as { cache_control?: unknown }).cache_control;

/**
 * An Anthropic request as its cache sees it: the tool definitions as text (they count as
 * prompt tokens) and the prompt up to its last `cache_control` breakpoint (tools, then
 * system, then messages).
 */
export function anthropicCacheable(body: Record<string, unknown>): { toolsText: string; cache: CacheableRequest } {
  const tools = Array.isArray(body.tools) ? (body.tools as unknown[]) : [];
  const segments: { text: string; breakpoint: boolean }[] = tools.map((tool) => ({ text: blockText(tool), breakpoint: hasBreakpoint(tool) }));
  const toolsText = segments.map((segment) => segment.text).join('\n');
  const blocks = (content: unknown): unknown[] => (Array.isArray(content) ? content : content === undefined ? [] : [content]);
  for (const block of blocks(body.system)) segments.push({ text: blockText(block), breakpoint: hasBreakpoint(block) });
  for (const message of Array.isArray(body.messages) ? (body.messages as { content?: unknown }[]) : []) {
    for (const block of blocks(message?.content)) segments.push({ text: blockText(block), breakpoint: hasBreakpoint(block) });
  }
  const last = segments.map((segment) => segment.breakpoint).lastIndexOf(true);
  return {
    toolsText,
    cache: last < 0 ? {} : { breakpointPrefix: segments.slice(0, last + 1).map((segment) => segment.text).join('\n') },
  };
}

/** An OpenAI request as its automatic cache sees it: the tool definitions as text, and the whole prompt. */
export function openaiCacheable(body: Record<string, unknown>): { toolsText: string; cache: CacheableRequest } {
  const toolsText = Array.isArray(body.tools) && body.tools.length > 0 ? JSON.stringify(body.tools) : '';
  return { toolsText, cache: { prompt: JSON.stringify({ tools: body.tools ?? [], messages: body.messages ?? [] }) } };
}

function commonPrefixLength(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  let i = 0;
  while (i < length && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  return i;
}
