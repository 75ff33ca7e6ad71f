import { type HostResolver, isForbiddenHost, resolvesToForbiddenAddress, systemResolver } from '../net/address-guard.ts';

/** A provider base URL that Conveyor refuses. Its message is safe to show. */
export class ProviderUrlError extends Error {
  override name = 'ProviderUrlError';
}

export interface ProviderUrlOptions {
  /** `PROVIDER_ALLOW_PRIVATE`: allow loopback, private and link-local hosts (local model servers). */
  allowPrivate: boolean;
  lookup?: HostResolver;
}

const forbidden = (what: string) =>
  new ProviderUrlError(`${what} points to a loopback, private, link-local or metadata address; set PROVIDER_ALLOW_PRIVATE=true to allow local model servers`);

function parse(url: string, what: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ProviderUrlError(`${what} must be an absolute http(s) URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ProviderUrlError(`${what} must use http or https`);
  if (parsed.username || parsed.password) throw new ProviderUrlError(`${what} must not contain credentials`);
  return parsed;
}

/**
 * What can be checked without DNS (used at config load): an http(s) URL without
 * credentials whose host is not a loopback, private, link-local or metadata name or address.
 */
export function assertProviderBaseUrlSyntax(url: string, options: Pick<ProviderUrlOptions, 'allowPrivate'>, what = 'baseUrl'): URL {
  const parsed = parse(url, what);
  if (!options.allowPrivate && isForbiddenHost(parsed)) throw forbidden(what);
  return parsed;
}

/**
 * The check made when a provider base URL is stored: the syntax check, then every address
 * the host name resolves to now must be public (a name that does not resolve is accepted).
 */
export async function assertProviderBaseUrl(url: string, options: ProviderUrlOptions, what = 'baseUrl'): Promise<URL> {
  const parsed = assertProviderBaseUrlSyntax(url, options, what);
  if (!options.allowPrivate && (await resolvesToForbiddenAddress(parsed, options.lookup ?? systemResolver))) throw forbidden(what);
  return parsed;
}
