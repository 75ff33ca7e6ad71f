import { listModels as listCatalogModels } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import type { ModelsJson } from '../schemas/models.ts';
import { listProviders } from './providers.ts';
import { getDefaultModel } from './settings.ts';

/** Catalog models of the providers that have a key, grouped by provider, and the default model. */
export async function listModels(deps: ApiDeps): Promise<ModelsJson> {
  const [providers, defaultModel] = await Promise.all([listProviders(deps), getDefaultModel(deps)]);
  const configured = providers.filter((provider) => provider.configured);
  const groups = new Map(listCatalogModels({ providers: configured.map((p) => p.id) }).map((group) => [group.provider, group]));
  return {
    providers: configured.map((provider) => ({
      id: provider.id,
      name: provider.name,
      models: (groups.get(provider.id)?.models ?? []).map((model) => ({
        id: model.id,
        name: model.name,
        contextWindow: model.contextWindow,
        prices: model.prices,
      })),
    })),
    default: defaultModel,
  };
}
