import { anthropicProvider } from '@conveyor/core/providers/anthropic';
import { openaiProvider } from '@conveyor/core/providers/openai';
import { ProviderRegistry } from '@conveyor/core/providers/registry';

/**
 * The providers the API knows, to validate model ids and list models. The API only reads
 * their definitions (ids, model prefixes, environment variables); it never calls a provider.
 */
export function createProviderRegistry(): ProviderRegistry {
  const registry = new ProviderRegistry();
  for (const provider of [anthropicProvider, openaiProvider]) registry.register(provider);
  return registry;
}
