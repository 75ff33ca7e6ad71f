import type { BuiltinTool, ProviderRegistry } from '@conveyor/core';
import { builtinTools } from '@conveyor/core';

/** "web_search and web_fetch are skipped for OpenAI models", per provider that lacks a built-in tool. */
export function unsupportedToolNotes(registry: ProviderRegistry): string[] {
  return registry.list().flatMap((provider) => {
    const missing = builtinTools.filter((tool) => !provider.supportedTools.includes(tool));
    if (missing.length === 0) return [];
    return [`${missing.join(' and ')} ${missing.length > 1 ? 'are' : 'is'} skipped for ${provider.name} models (the run goes on, with a warning).`];
  });
}

/** The tools of an agent that its model's provider will skip; empty when the model is the default or unknown. */
export function skippedTools(registry: ProviderRegistry, model: string, tools: readonly string[]): BuiltinTool[] {
  try {
    const { provider } = registry.resolve(model);
    return builtinTools.filter((tool) => tools.includes(tool) && !provider.supportedTools.includes(tool));
  } catch {
    return [];
  }
}
