import { readDefaultModel, writeDefaultModel } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { validationError } from '../errors.ts';
import type { PutSettingsInput, SettingsJson } from '../schemas/models.ts';
import { listModels } from './models.ts';

/** The stored default model, or null. */
export async function getDefaultModel(deps: Pick<ApiDeps, 'db'>): Promise<string | null> {
  return (await readDefaultModel(deps.db)) ?? null;
}

export async function getSettings(deps: ApiDeps): Promise<SettingsJson> {
  return { defaultModel: await getDefaultModel(deps) };
}

/** The default model must be one that `GET /v1/models` lists (a provider with a key); `null` unsets it. */
export async function putSettings(deps: ApiDeps, input: PutSettingsInput): Promise<SettingsJson> {
  if (input.defaultModel !== null) {
    const { providers } = await listModels(deps);
    const listed = providers.some((provider) => provider.models.some((model) => model.id === input.defaultModel));
    if (!listed) {
      throw validationError(`"${input.defaultModel}" is not a model of a configured provider`, [
        { path: ['body', 'defaultModel'], message: 'must be a model listed by GET /v1/models, or null' },
      ]);
    }
  }
  await writeDefaultModel(deps.db, input.defaultModel);
  return { defaultModel: input.defaultModel };
}
