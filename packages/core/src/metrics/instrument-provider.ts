import { ProviderError } from '../providers/errors.ts';
import type { Provider } from '../providers/types.ts';
import { type Metrics, metrics as processMetrics } from './metrics.ts';

/** A provider whose every chat call is timed and whose failures are counted by error kind. */
export function instrumentProvider(provider: Provider, metrics: Metrics = processMetrics): Provider {
  return {
    id: provider.id,
    ...(provider.countInputTokens ? { countInputTokens: provider.countInputTokens.bind(provider) } : {}),
    async chat(request) {
      const started = performance.now();
      try {
        const result = await provider.chat(request);
        metrics.providerCall(provider.id, request.model, performance.now() - started);
        return result;
      } catch (error) {
        const kind = error instanceof ProviderError ? error.kind : 'unknown';
        metrics.providerCall(provider.id, request.model, performance.now() - started, kind);
        throw error;
      }
    },
  };
}
