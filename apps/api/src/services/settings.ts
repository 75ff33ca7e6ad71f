import type { ApiDeps } from '../context.ts';
import { validationError } from '../errors.ts';
import type { PutSettingsInput, SettingsJson } from '../schemas/models.ts';
import { listModels } from './models.ts';

const DEFAULT_MODEL_KEY = 'defaultModel';

/** The stored default model, or null. */
export async function getDefaultModel(deps: Pick<ApiDeps, 'db'>): Promise<string | null> {
  const row = await deps.db.setting.findUnique({ where: { key: DEFAULT_MODEL_KEY } });
  return typeof row?.value === 'string' ? row.value : null;
}

export async function getSettings(deps: ApiDeps): Promise<SettingsJson> {
  return { defaultModel: await getDefaultModel(deps) };
}

/** The default model must be one that `GET /v1/models` lists (a provider with a key). */
export async function putSettings(deps: ApiDeps, input: PutSettingsInput): Promise<SettingsJson> {
  const { providers } = await listModels(deps);
  const listed = providers.some((provider) => provider.models.some((model) => model.id === input.defaultModel));
  if (!listed) {
    throw validationError(`"${input.defaultModel}" is not a model of a configured provider`, [
      { path: ['body', 'defaultModel'], message: 'must be a model listed by GET /v1/models' },
    ]);
  }
  await deps.db.setting.upsert({
    where: { key: DEFAULT_MODEL_KEY },
    create: { key: DEFAULT_MODEL_KEY, value: input.defaultModel },
    update: { value: input.defaultModel },
  });
  return { defaultModel: input.defaultModel };
}
