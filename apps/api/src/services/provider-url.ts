import { assertProviderBaseUrl, ProviderUrlError } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { validationError } from '../errors.ts';

/**
 * Refuses a provider base URL that workers must not send prompts and keys to: not http(s),
 * with credentials, or (unless PROVIDER_ALLOW_PRIVATE) on a loopback, private, link-local
 * or metadata address.
 */
export async function assertProviderBaseUrlAllowed(deps: Pick<ApiDeps, 'config'>, url: string | undefined, path: string[]): Promise<void> {
  if (url === undefined) return;
  try {
    await assertProviderBaseUrl(url, { allowPrivate: deps.config.PROVIDER_ALLOW_PRIVATE });
  } catch (error) {
    if (error instanceof ProviderUrlError) throw validationError(`${path.join('.')}: ${error.message}`, [{ path, message: error.message }]);
    throw error;
  }
}
