import { deleteProviderKey as deleteStoredKey, EncryptionKeyMissingError, providerStatus, saveProviderKey } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { notFound, unavailable } from '../errors.ts';
import type { ProviderStatusJson, PutProviderKeyInput } from '../schemas/providers.ts';

/** Every registered provider, whether it has a key, and where the key comes from (a stored key wins). */
export function listProviders(deps: ApiDeps): Promise<ProviderStatusJson[]> {
  return providerStatus(deps.db, deps.config, deps.registry);
}

function knownProvider(deps: ApiDeps, id: string) {
  const provider = deps.registry.get(id);
  if (!provider) throw notFound('provider', id);
  return provider;
}

const changeOptions = (deps: ApiDeps) => ({ registry: deps.registry, notify: { redis: deps.redis, prefix: deps.config.REDIS_PREFIX } });

/** Stores the key sealed with AES-256-GCM under ENCRYPTION_KEY; only its hint is ever shown. Workers use it from their next call. */
export async function putProviderKey(deps: ApiDeps, id: string, input: PutProviderKeyInput): Promise<ProviderStatusJson> {
  knownProvider(deps, id);
  try {
    return await saveProviderKey(deps.db, deps.config, id, input, changeOptions(deps));
  } catch (error) {
    if (error instanceof EncryptionKeyMissingError) throw unavailable('ENCRYPTION_KEY is not configured, so provider keys cannot be stored');
    throw error;
  }
}

/** Removes the stored key; a key from the environment, if any, applies again, from every worker's next call. */
export async function deleteProviderKey(deps: ApiDeps, id: string): Promise<void> {
  knownProvider(deps, id);
  if (!(await deleteStoredKey(deps.db, id, changeOptions(deps)))) throw notFound('stored key of provider', id);
}
