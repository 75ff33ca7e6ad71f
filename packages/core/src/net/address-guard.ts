import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';

/**
 * Which hosts and addresses Conveyor refuses to send requests to (loopback, private,
 * link-local, cloud metadata, reserved), shared by the webhook and provider URL guards.
 */

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to its addresses; injectable so tests never query real DNS. */
export type HostResolver = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolver: HostResolver = async (hostname) => {
  const addresses = await dns.lookup(hostname, { all: true, verbatim: true });
  return addresses.map(({ address, family }) => ({ address, family: family === 6 ? 6 : 4 }));
};

/** Names that always mean "this machine" or a cloud metadata service, whatever DNS says. */
export const forbiddenHostnames = new Set(['localhost', 'metadata', 'metadata.google.internal']);

/** [network, prefix length] ranges refused unless private targets are allowed. */
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

/** Whether a URL's host is a forbidden name or a forbidden IP literal (no DNS). */
export function isForbiddenHost(url: URL): boolean {
  const host = bareHostname(url);
  if (forbiddenHostnames.has(host) || host.endsWith('.localhost')) return true;
  return isIP(host) !== 0 && isForbiddenAddress(host);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('DNS lookup timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether the URL's host name resolves (now) to any forbidden address. An IP literal is
 * judged as is; a name that does not resolve within `timeoutMs` counts as allowed (the
 * caller checks again when it connects).
 */
export async function resolvesToForbiddenAddress(url: URL, lookup: HostResolver = systemResolver, timeoutMs = 3000): Promise<boolean> {
  const host = bareHostname(url);
  if (isIP(host) !== 0) return isForbiddenAddress(host);
  try {
    const addresses = await withTimeout(lookup(host), timeoutMs);
    return addresses.some(({ address }) => isForbiddenAddress(address));
  } catch {
    return false;
  }
}
