import { UnknownModelError } from './errors.ts';
import type { ProviderDefinition } from './types.ts';

export interface ResolvedModel {
  provider: ProviderDefinition;
  /** The provider's own model id (any `provider:` prefix removed). */
  model: string;
}

/**
 * Maps model ids to providers. Provider modules call `register` when imported,
 * so importing `providers/anthropic.ts` is all it takes to make Claude models resolvable.
 */
export class ProviderRegistry {
  readonly #providers = new Map<string, ProviderDefinition>();

  register(definition: ProviderDefinition): void {
    this.#providers.set(definition.id, definition);
  }

  list(): ProviderDefinition[] {
    return [...this.#providers.values()];
  }

  get(id: string): ProviderDefinition | undefined {
    return this.#providers.get(id);
  }

  /** `claude-…` → anthropic, `gpt-…` → openai, `openai:llama3.1` → openai (explicit). */
  resolve(model: string): ResolvedModel {
    const colon = model.indexOf(':');
    if (colon > 0) {
      const provider = this.#providers.get(model.slice(0, colon));
      const id = model.slice(colon + 1);
      if (provider && id) return { provider, model: id };
      throw new UnknownModelError(model);
    }
    for (const provider of this.#providers.values()) {
      if (provider.matches(model)) return { provider, model };
    }
    throw new UnknownModelError(model);
  }
}

export const registry = new ProviderRegistry();
