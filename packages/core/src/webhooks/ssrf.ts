import type { LookupFunction } from 'node:net';
import { type HostResolver, isForbiddenAddress, isForbiddenHost, resolvesToForbiddenAddress, systemResolver } from '../net/address-guard.ts';

export { type HostResolver, isForbiddenAddress, type ResolvedAddress, systemResolver } from '../net/address-guard.ts';

/** A webhook URL that is malformed or points where Conveyor refuses to send requests. Its message is safe to show. */
export class WebhookUrlError extends Error {
  override name = 'WebhookUrlError';
}

export interface WebhookTargetOptions {
  /** Allow loopback, private, link-local and metadata targets (development and tests only). */
  allowPrivate: boolean;
  lookup?: HostResolver;
}

const MAX_URL_LENGTH = 2048;
const SUBMISSION_DNS_TIMEOUT_MS = 3000;
const forbiddenMessage = 'webhookUrl points to a loopback, private, link-local or metadata address';

/**
 * Checks what can be checked without DNS: an absolute http(s) URL without credentials,
 * and, unless private targets are allowed, no forbidden host name or IP literal.
 * Returns the parsed URL.
 */
export function assertWebhookUrlSyntax(url: string, options: Pick<WebhookTargetOptions, 'allowPrivate'>): URL {
  if (url.length > MAX_URL_LENGTH) throw new WebhookUrlError(`webhookUrl must be at most ${MAX_URL_LENGTH} characters`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new WebhookUrlError('webhookUrl must be an absolute URL');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new WebhookUrlError('webhookUrl must use http or https');
  if (parsed.username || parsed.password) throw new WebhookUrlError('webhookUrl must not contain credentials');
  if (!options.allowPrivate && isForbiddenHost(parsed)) throw new WebhookUrlError(forbiddenMessage);
  return parsed;
}

/**
 * The full check made when a webhook URL is saved: syntax, then (unless private targets
 * are allowed) every address the host name resolves to must be public. A name that does
 * not resolve right now is accepted: delivery checks again before connecting.
 * Throws a WebhookUrlError; returns the parsed URL.
 */
export async function assertWebhookTarget(url: string, options: WebhookTargetOptions): Promise<URL> {
  const parsed = assertWebhookUrlSyntax(url, options);
  if (options.allowPrivate) return parsed;
  if (await resolvesToForbiddenAddress(parsed, options.lookup ?? systemResolver, SUBMISSION_DNS_TIMEOUT_MS)) throw new WebhookUrlError(forbiddenMessage);
  return parsed;
}

/** What the API calls when a pipeline or run names a webhook URL (a WebhookUrlError is a 400). */
export const validateWebhookUrl = assertWebhookTarget;

/**
 * A `lookup` for `http.request` that resolves with `resolve` and fails with a
 * WebhookUrlError if any address is forbidden, so the socket connects only to the
 * address that was checked (no window for DNS rebinding between check and connect).
 */
export function guardedLookup(resolve: HostResolver): LookupFunction {
  return (hostname, options, callback) => {
    const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family || 0;
    resolve(hostname).then(
      (addresses) => {
        const usable = addresses.filter((address) => family === 0 || address.family === family);
        if (usable.length === 0) {
          callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '');
        } else if (usable.some(({ address }) => isForbiddenAddress(address))) {
          callback(new WebhookUrlError(forbiddenMessage), '');
        } else if (options.all) {
          callback(null, usable);
        } else {
          callback(null, usable[0]!.address, usable[0]!.family);
        }
      },
      (error: NodeJS.ErrnoException) => callback(error, ''),
    );
  };
}
