import { httpFetch } from './http-fetch.ts';
import { retryPolicyFor } from './retry.ts';
import type { ProviderSettings } from './types.ts';

/**
 * The client options both official SDKs take alike. Retries are ours (`withRetries`, which
 * honours `retry-after` and counts every attempt), so the SDK's own are off; the timeout is
 * per attempt; requests go through `httpFetch`.
 */
export function sdkClientOptions(settings: ProviderSettings) {
  return { apiKey: settings.apiKey, baseURL: settings.baseUrl ?? null, maxRetries: 0, timeout: retryPolicyFor(settings).timeoutMs, fetch: httpFetch };
}

/**
 * The Anthropic SDK's options: the common ones, and its own OpenTelemetry instrumentation off. A
 * model call's span is Conveyor's (GenAI conventions, alike for every provider); the SDK's would be
 * a second span of the same call, and its propagation would send the run's trace context to the
 * provider.
 */
export function anthropicClientOptions(settings: ProviderSettings) {
  return { ...sdkClientOptions(settings), openTelemetry: { traces: false, propagation: false } };
}
