import { promises as dns } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';

/** A webhook URL that is malformed or points where Conveyor refuses to send requests. Its message is safe to show. */
export class WebhookUrlError extends Error {
  override name = 'WebhookUrlError';
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses; injectable so tests never query real DNS. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export interface WebhookTargetOptions {
  /** Allow loopback, private, link-local and metadata targets (development and tests only). */
  allowPrivate: boolean;
  lookup?: HostResolver;
}

export const systemResolver: HostResolver = async (hostname) => {
  const addresses = await dns.lookup(hostname, { all: true, verbatim: true });
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

const MAX_URL_LENGTH = 2048;
const SUBMISSION_DNS_TIMEOUT_MS = 3000;
const forbiddenMessage = 'webhookUrl points to a loopback, private, link-local or metadata address';

/** Names that always mean "this machine" or a cloud metadata service, whatever DNS says. */
const forbiddenHostnames = new Set(['localhost', 'metadata', 'metadata.google.internal']);

/** [network, prefix length] ranges no webhook may reach unless private targets are allowed. */
const forbiddenRanges: Array<[string, number]> = [
  ['0.0.0.0', 8], // "this network"
  ['10.0.0.0', 8],
  ['100.64.0.0', 10], // carrier-grade NAT (also Alibaba's metadata address)
  ['127.0.0.0', 8],
  ['169.254.0.0', 16], // link-local, including 169.254.169.254 metadata
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved and broadcast
  ['::', 96], // unspecified, loopback and IPv4-compatible
  ['64:ff9b:1::', 48], // local-use NAT64
  ['100::', 64], // discard
  ['2001::', 23], // IETF protocol assignments, including Teredo
  ['2001:db8::', 32], // documentation
  ['2002::', 16], // 6to4
  ['fc00::', 7], // unique local, including AWS's fd00:ec2::254 metadata
  ['fe80::', 10], // link-local
  ['fec0::', 10], // site-local
  ['ff00::', 8], // multicast
];

/** IPv6 prefixes that embed an IPv4 address in their last 32 bits, which is then what gets reached. */
const ipv4Embedding: Array<[string, number]> = [
  ['::ffff:0:0', 96], // IPv4-mapped
  ['64:ff9b::', 96], // NAT64
];

function ipv4Bytes(address: string): number[] {
  return address.split('.').map(Number);
}

function ipv6Bytes(address: string): number[] {
  let text = address.split('%')[0]!;
  let tail: number[] = [];
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    tail = ipv4Bytes(dotted[1]!);
    text = text.slice(0, -dotted[1]!.length) + '0:0';
  }
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').filter(Boolean) : []);
  const left = groups(head);
  const right = groups(rest);
  const middle = rest === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  const bytes = [...left, ...middle, ...right].flatMap((group) => {
    const value = parseInt(group, 16);
    return [value >> 8, value & 0xff];
  });
  if (tail.length) bytes.splice(12, 4, ...tail);
  return bytes;
}

function bytesOf(address: string): number[] {
  return isIP(address) === 4 ? ipv4Bytes(address) : ipv6Bytes(address);
}

function inRange(bytes: number[], [network, length]: [string, number]): boolean {
  const base = bytesOf(network);
  if (base.length !== bytes.length) return false;
  for (let bit = 0; bit < length; bit++) {
    const mask = 0x80 >> bit % 8;
    if ((bytes[bit >> 3]! & mask) !== (base[bit >> 3]! & mask)) return false;
  }
  return true;
}

/** Whether an IP address (v4 or v6) is loopback, private, link-local, metadata or otherwise not public. */
export function isForbiddenAddress(address: string): boolean {
  if (isIP(address) === 0) return true;
  let bytes = bytesOf(address);
  if (bytes.length === 16 && ipv4Embedding.some((range) => inRange(bytes, range))) bytes = bytes.slice(12);
  return forbiddenRanges.some((range) => inRange(bytes, range));
}

/** The URL's host without IPv6 brackets or a trailing dot. */
function bareHostname(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
}

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
  if (options.allowPrivate) return parsed;
  const host = bareHostname(parsed);
  if (forbiddenHostnames.has(host) || host.endsWith('.localhost')) throw new WebhookUrlError(forbiddenMessage);
  if (isIP(host) !== 0 && isForbiddenAddress(host)) throw new WebhookUrlError(forbiddenMessage);
  return parsed;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('DNS lookup timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The full check made when a webhook URL is saved: syntax, then (unless private targets
 * are allowed) every address the host name resolves to must be public. A name that does
 * not resolve right now is accepted: delivery checks again before connecting.
 * Throws a WebhookUrlError; returns the parsed URL.
 */
export async function assertWebhookTarget(url: string, options: WebhookTargetOptions): Promise<URL> {
  const parsed = assertWebhookUrlSyntax(url, options);
  const host = bareHostname(parsed);
  if (options.allowPrivate || isIP(host) !== 0) return parsed;
  let addresses: ResolvedAddress[];
  try {
    addresses = await withTimeout((options.lookup ?? systemResolver)(host), SUBMISSION_DNS_TIMEOUT_MS);
  } catch {
    return parsed;
  }
  if (addresses.some(({ address }) => isForbiddenAddress(address))) throw new WebhookUrlError(forbiddenMessage);
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
