import type { ApiDeps } from '../context.ts';
import { listModels } from '../services/models.ts';
import type { ModelGroup } from './components/model-select.tsx';

export interface ModelChoices {
  /** One group per provider that has a key; no group for a provider without one. */
  groups: ModelGroup[];
  defaultModel: string | null;
}

export async function loadModelChoices(deps: ApiDeps): Promise<ModelChoices> {
  const models = await listModels(deps);
  return {
    groups: models.providers.map((provider) => ({
      providerId: provider.id,
      providerName: provider.name,
      models: provider.models.map((model) => ({ id: model.id, name: model.name })),
    })),
    defaultModel: models.default ?? null,
  };
}
