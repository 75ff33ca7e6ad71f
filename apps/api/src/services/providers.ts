import { keyHint, SecretBox } from '@conveyor/core/crypto/secret-box';
import type { ApiDeps } from '../context.ts';
import { notFound, unavailable } from '../errors.ts';
import type { ProviderStatusJson, PutProviderKeyInput } from '../schemas/providers.ts';

/** Every registered provider, whether it has a key, and where the key comes from (a stored key wins). */
export async function listProviders(deps: ApiDeps): Promise<ProviderStatusJson[]> {
  const stored = await deps.db.providerCredential.findMany({ select: { provider: true, keyHint: true } });
  const storedById = new Map(stored.map((row) => [row.provider, row.keyHint]));
  return deps.registry.list().map((provider) => {
    const storedHint = storedById.get(provider.id);
    if (storedHint !== undefined) return { id: provider.id, name: provider.name, configured: true, source: 'stored', keyHint: storedHint };
    const envKey = (deps.config as unknown as Record<string, unknown>)[provider.env.apiKey];
    if (typeof envKey === 'string' && envKey !== '') {
      return { id: provider.id, name: provider.name, configured: true, source: 'env', keyHint: keyHint(envKey) };
    }
    return { id: provider.id, name: provider.name, configured: false, source: null, keyHint: null };
  });
}

function knownProvider(deps: ApiDeps, id: string) {
  const provider = deps.registry.get(id);
  if (!provider) throw notFound('provider', id);
  return provider;
}

async function statusOf(deps: ApiDeps, id: string): Promise<ProviderStatusJson> {
  const status = (await listProviders(deps)).find((provider) => provider.id === id);
  if (!status) throw notFound('provider', id);
  return status;
}

/** Stores the key sealed with AES-256-GCM under ENCRYPTION_KEY; only its hint is ever shown. */
export async function putProviderKey(deps: ApiDeps, id: string, input: PutProviderKeyInput): Promise<ProviderStatusJson> {
  knownProvider(deps, id);
  const encryptionKey = deps.config.ENCRYPTION_KEY;
  if (!encryptionKey) throw unavailable('ENCRYPTION_KEY is not configured, so provider keys cannot be stored');
  const sealed = new SecretBox(encryptionKey).seal(input.apiKey);
  const row = { encryptedKey: sealed, keyHint: keyHint(input.apiKey), baseUrl: input.baseUrl ?? null };
  await deps.db.providerCredential.upsert({ where: { provider: id }, create: { provider: id, ...row }, update: row });
  return statusOf(deps, id);
}

/** Removes the stored key; a key from the environment, if any, applies again. */
export async function deleteProviderKey(deps: ApiDeps, id: string): Promise<void> {
  knownProvider(deps, id);
  const { count } = await deps.db.providerCredential.deleteMany({ where: { provider: id } });
  if (count === 0) throw notFound('stored key of provider', id);
}
