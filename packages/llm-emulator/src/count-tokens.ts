import type { IncomingMessage, ServerResponse } from 'node:http';
import { anthropic } from './anthropic.ts';
import { BadRequest, readJson, sendJson } from './http.ts';
import { anthropicCacheable } from './cache.ts';
import { contentText, type ConversationMessage, estimateTokens, planReply } from './reply.ts';

/**
 * Anthropic's token counting (`POST /v1/messages/count_tokens`): the body of a
 * Messages request without `max_tokens`, answered `{"input_tokens": N}` with the
 * same N that `/v1/messages` reports as `usage.input_tokens` for that request.
 */
export const countTokensPath = '/v1/messages/count_tokens';

export interface CountTokensHooks {
  acceptsKey(key: string): boolean;
  /** Records the request like every provider request (path, body as sent, status). */
  record(body: Record<string, unknown>, status: number): void;
}

export async function handleCountTokens(req: IncomingMessage, res: ServerResponse, hooks: CountTokensHooks): Promise<void> {
  let body: Record<string, unknown> = {};
  const fail = (status: number, message: string) => {
    hooks.record(body, status);
    anthropic.sendError(res, status, message);
  };
  try {
    body = await readJson(req);
  } catch (error) {
    if (error instanceof BadRequest) return fail(400, error.message);
    throw error;
  }
  const key = anthropic.apiKey(req);
  if (!key || !hooks.acceptsKey(key)) return fail(401, key ? 'invalid x-api-key' : 'missing API key');
  if (typeof body.model !== 'string' || !body.model) return fail(400, 'model: Field required');
  if (!Array.isArray(body.messages) || body.messages.length === 0) return fail(400, 'messages: at least one message is required');
  const messages: ConversationMessage[] = [];
  for (const [i, m] of (body.messages as Array<{ role?: unknown; content?: unknown }>).entries()) {
    if (m?.role !== 'user' && m?.role !== 'assistant') return fail(400, `messages.${i}.role: Input should be 'user' or 'assistant'`);
    messages.push({ role: m.role, text: contentText(m.content) });
  }
  const { inputTokens } = planReply({ model: body.model, system: contentText(body.system), messages }, '', undefined);
  const { toolsText } = anthropicCacheable(body);
  hooks.record(body, 200);
  // The whole prompt, cached or not: what the Messages call reports as input, cache reads and cache writes together.
  sendJson(res, 200, { input_tokens: inputTokens + (toolsText ? estimateTokens(toolsText) : 0) });
}
