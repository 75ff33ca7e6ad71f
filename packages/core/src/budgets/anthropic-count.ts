import type { MessageCountTokensParams } from '@anthropic-ai/sdk/resources/messages/messages';
import { retryPolicyFor, withRetries } from '../providers/retry.ts';
import { anthropicClientOptions } from '../providers/sdk-client.ts';
import { classifySdkError } from '../providers/sdk-errors.ts';
import type { ProviderSettings } from '../providers/types.ts';

/**
 * Anthropic documents token counts as an estimate that "may differ by a small
 * amount" from the billed input; this margin keeps the count an upper bound.
 */
export function withCountMargin(counted: number): number {
  return Math.ceil(counted * 1.02) + 32;
}

export type CountTokensRequest = MessageCountTokensParams;

/**
 * Input tokens of a Messages request, counted by Anthropic
 * (`POST /v1/messages/count_tokens` through the official SDK, retried like a
 * chat call), plus the margin. The request is the Messages request as it will
 * be sent (system, messages, tools), without `max_tokens`.
 */
export async function countAnthropicInputTokens(settings: ProviderSettings, request: CountTokensRequest, signal?: AbortSignal): Promise<number> {
  const { default: Sdk } = await import('@anthropic-ai/sdk');
  const client = new Sdk(anthropicClientOptions(settings));
  const classify = (error: unknown) =>
    classifySdkError('anthropic', error, Sdk, (e) => {
      const body = (e as { error?: { error?: { message?: string; type?: string } } }).error;
      return { message: (e as { apiMessage?: string | null }).apiMessage ?? body?.error?.message, type: body?.error?.type };
    });
  const counted = await withRetries({ provider: 'anthropic', policy: retryPolicyFor(settings), signal, classify }, (attemptSignal) =>
    client.messages.countTokens(request, { signal: attemptSignal }),
  );
  return withCountMargin(counted.input_tokens);
}
