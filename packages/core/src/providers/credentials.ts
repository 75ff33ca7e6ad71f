import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisConnection } from '../queue/connection.ts';
import type { Config } from '../config.ts';
import { keyHint, type SecretBox, secretBoxOf } from '../crypto/secret-box.ts';
import { assertProviderBaseUrl, ProviderUrlError } from './base-url-guard.ts';
import type { Database } from '../db/client.ts';
import type { Logger } from '../logger.ts';
import { EncryptionKeyMissingError, ProviderError, ProviderNotConfiguredError, UnknownProviderError } from './errors.ts';
import { type ProviderRegistry, registry as defaultRegistry } from './registry.ts';
import type { Provider, ProviderDefinition } from './types.ts';

/**
 * The one home of provider keys: which providers have a key, where it comes from, storing
 * and deleting it, and the clients built from it. A key stored through the API (encrypted in
 * `provider_credentials`) wins over the environment. Every change bumps a version in Redis
 * and announces it on a channel; a worker re-reads the key after an announcement (or, while
 * its subscription is down, reads the version before each call), so a stored, replaced or
 * deleted key takes effect from the next call in every worker.
 */

/** Where the version of the stored credentials lives in Redis. */
export const credentialsVersionKey = (prefix: string) => `${prefix}:provider-credentials:version`;
/** Where a change of the stored credentials is announced (Redis pub/sub, which a cluster broadcasts to every node). */
export const credentialsChangedChannel = (prefix: string) => `${prefix}:provider-credentials:changed`;

/** Tells every worker that stored credentials changed. */
export interface CredentialsChangeNotifier {
  redis: RedisConnection;
  prefix: string;
}

async function notifyChange(notifier: CredentialsChangeNotifier | undefined): Promise<void> {
  if (!notifier) return;
  const version = await notifier.redis.incr(credentialsVersionKey(notifier.prefix));
  await notifier.redis.publish(credentialsChangedChannel(notifier.prefix), String(version));
}

export type CredentialSource = 'stored' | 'env';

export interface ProviderStatus {
  id: string;
  name: string;
  configured: boolean;
  source: CredentialSource | null;
  /** At most the last 4 characters of the key. */
  keyHint: string | null;
}

interface Credential {
  source: CredentialSource;
  apiKey: string;
  baseUrl: string | undefined;
}

type Db = Pick<Database, 'providerCredential'>;

function definitionOf(reg: ProviderRegistry, providerId: string): ProviderDefinition {
  const definition = reg.get(providerId);
  if (!definition) throw new UnknownProviderError(providerId);
  return definition;
}

function fromEnv(config: Config, definition: ProviderDefinition): { apiKey?: string; baseUrl?: string } {
  const values = config as unknown as Record<string, unknown>;
  const read = (name: string) => (typeof values[name] === 'string' && values[name] ? (values[name] as string) : undefined);
  return { apiKey: read(definition.env.apiKey), baseUrl: read(definition.env.baseUrl) };
}

function secretBox(config: Config): SecretBox {
  const box = secretBoxOf(config);
  if (!box) throw new EncryptionKeyMissingError();
  return box;
}

/** Status of every registered provider, for `GET /v1/providers` and the console. Never includes a key. */
export async function providerStatus(db: Db, config: Config, reg: ProviderRegistry = defaultRegistry): Promise<ProviderStatus[]> {
  const definitions = reg.list();
  const stored = await db.providerCredential.findMany({
    where: { provider: { in: definitions.map((d) => d.id) } },
    select: { provider: true, keyHint: true },
  });
  const storedById = new Map(stored.map((row) => [row.provider, row]));
  return definitions.map((definition) => {
    const row = storedById.get(definition.id);
    if (row) return { id: definition.id, name: definition.name, configured: true, source: 'stored', keyHint: row.keyHint };
    const envKey = fromEnv(config, definition).apiKey;
    if (envKey) return { id: definition.id, name: definition.name, configured: true, source: 'env', keyHint: keyHint(envKey) };
    return { id: definition.id, name: definition.name, configured: false, source: null, keyHint: null };
  });
}

/** Ids of the providers that have a key. */
export async function configuredProviders(db: Db, config: Config, reg: ProviderRegistry = defaultRegistry): Promise<string[]> {
  return (await providerStatus(db, config, reg)).filter((s) => s.configured).map((s) => s.id);
}

export interface CredentialChangeOptions {
  registry?: ProviderRegistry;
  /** Without it, workers notice the change only when their cached key expires. */
  notify?: CredentialsChangeNotifier;
}

/** Stores (or replaces) a provider's key, encrypted under ENCRYPTION_KEY. */
export async function saveProviderKey(
  db: Db,
  config: Config,
  providerId: string,
  input: { apiKey: string; baseUrl?: string | null },
  options: CredentialChangeOptions = {},
): Promise<ProviderStatus> {
  const definition = definitionOf(options.registry ?? defaultRegistry, providerId);
  const data = { encryptedKey: secretBox(config).seal(input.apiKey), keyHint: keyHint(input.apiKey), baseUrl: input.baseUrl ?? null };
  await db.providerCredential.upsert({ where: { provider: providerId }, create: { provider: providerId, ...data }, update: data });
  await notifyChange(options.notify);
  return { id: definition.id, name: definition.name, configured: true, source: 'stored', keyHint: data.keyHint };
}

/** Removes a stored key (the environment's key, if any, applies again). True if one was stored. */
export async function deleteProviderKey(db: Db, providerId: string, options: CredentialChangeOptions = {}): Promise<boolean> {
  definitionOf(options.registry ?? defaultRegistry, providerId);
  const { count } = await db.providerCredential.deleteMany({ where: { provider: providerId } });
  if (count > 0) await notifyChange(options.notify);
  return count > 0;
}

async function resolveCredential(db: Db, config: Config, definition: ProviderDefinition): Promise<Credential> {
  const env = fromEnv(config, definition);
  const row = await db.providerCredential.findUnique({ where: { provider: definition.id } });
  if (row) {
    let apiKey: string;
    try {
      apiKey = secretBox(config).open(row.encryptedKey);
    } catch (error) {
      const reason = error instanceof EncryptionKeyMissingError ? 'ENCRYPTION_KEY is not set' : 'it does not decrypt under the current ENCRYPTION_KEY';
      throw new ProviderError({ provider: definition.id, kind: 'auth', transient: false, message: `the stored API key cannot be used: ${reason}` });
    }
    if (row.baseUrl) {
      // Checked again where it is used: a URL stored before the guard existed, or a name that now resolves elsewhere.
      await assertProviderBaseUrl(row.baseUrl, { allowPrivate: config.PROVIDER_ALLOW_PRIVATE }).catch((error: unknown) => {
        const message = error instanceof ProviderUrlError ? error.message : 'the stored base URL cannot be checked';
        throw new ProviderError({ provider: definition.id, kind: 'auth', transient: false, message: `the stored base URL is refused: ${message}` });
      });
    }
    return { source: 'stored', apiKey, baseUrl: row.baseUrl ?? env.baseUrl };
  }
  if (env.apiKey) return { source: 'env', apiKey: env.apiKey, baseUrl: env.baseUrl };
  throw new ProviderNotConfiguredError(definition.id);
}

export interface CreateProviderOptions {
  logger?: Logger;
  registry?: ProviderRegistry;
}

/** A ready client for one provider, built from its current key (stored, else environment). */
export async function createProvider(db: Db, config: Config, providerId: string, options: CreateProviderOptions = {}): Promise<Provider> {
  const definition = definitionOf(options.registry ?? defaultRegistry, providerId);
  const credential = await resolveCredential(db, config, definition);
  return build(definition, credential, config, options.logger);
}

function build(definition: ProviderDefinition, credential: Credential, config: Config, logger: Logger | undefined): Provider {
  return definition.create({
    apiKey: credential.apiKey,
    baseUrl: credential.baseUrl,
    timeoutMs: config.PROVIDER_TIMEOUT_SECONDS * 1000,
    maxRetries: config.PROVIDER_MAX_RETRIES,
    logger,
  });
}

const fingerprint = (c: Credential) => createHash('sha256').update(`${c.apiKey}\n${c.baseUrl ?? ''}`).digest('hex');

export interface ProviderCacheOptions extends CreateProviderOptions {
  /**
   * Where the credentials version is read (see saveProviderKey): a change made through the
   * API applies from the next call. Without it, only the TTL applies.
   */
  redis?: RedisConnection;
  /**
   * A connection of its own (a single Redis, not a cluster client) on which the cache subscribes
   * to change announcements. While the subscription is up and answers, the version is read once
   * and again only after an announcement; otherwise (not yet subscribed, reconnecting, silent),
   * before every call. Without it, before every call.
   */
  subscriber?: Redis;
  /** How long a resolved key is trusted before the database is read again, changed or not. */
  ttlMs?: number;
  now?: () => number;
}

interface Cached {
  provider: Provider;
  fingerprint: string;
  expiresAt: number;
  version: string | null;
}

/**
 * Provider clients for a long-running worker: the key is re-read when the credentials
 * version in Redis changed, and at least once per TTL; a client is rebuilt only when its
 * key or base URL changed.
 */
export class ProviderCache {
  readonly #entries = new Map<string, Cached>();
  readonly #loading = new Map<string, Promise<Provider>>();
  readonly #db: Db;
  readonly #config: Config;
  readonly #options: ProviderCacheOptions;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #versions: VersionWatch | undefined;

  constructor(db: Db, config: Config, options: ProviderCacheOptions = {}) {
    this.#db = db;
    this.#config = config;
    this.#options = options;
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#now = options.now ?? Date.now;
    if (options.redis) this.#versions = new VersionWatch(options.redis, options.subscriber, config.REDIS_PREFIX, options.logger);
  }

  /** True while change announcements are known to arrive: calls then read no version from Redis. */
  get subscribed(): boolean {
    return this.#versions?.trusted ?? false;
  }

  async get(providerId: string): Promise<Provider> {
    const version = (await this.#versions?.current()) ?? null;
    const cached = this.#entries.get(providerId);
    if (cached && cached.expiresAt > this.#now() && cached.version === version) return cached.provider;
    let loading = this.#loading.get(providerId);
    if (!loading) {
      loading = this.#load(providerId, cached, version).finally(() => this.#loading.delete(providerId));
      this.#loading.set(providerId, loading);
    }
    return loading;
  }

  /** Stops listening for announcements (the connections stay their owner's to close). Safe to call more than once. */
  async close(): Promise<void> {
    this.#versions?.close();
    this.#entries.clear();
  }

  /** Forget one provider (or all) so the next `get` reads the key again. */
  invalidate(providerId?: string): void {
    if (providerId) this.#entries.delete(providerId);
    else this.#entries.clear();
  }

  async #load(providerId: string, previous: Cached | undefined, version: string | null): Promise<Provider> {
    const definition = definitionOf(this.#options.registry ?? defaultRegistry, providerId);
    const credential = await resolveCredential(this.#db, this.#config, definition).catch((error: unknown) => {
      this.#entries.delete(providerId);
      throw error;
    });
    const print = fingerprint(credential);
    const provider = previous?.fingerprint === print ? previous.provider : build(definition, credential, this.#config, this.#options.logger);
    this.#entries.set(providerId, { provider, fingerprint: print, expiresAt: this.#now() + this.#ttlMs, version });
    return provider;
  }
}

/** How often a subscribed worker checks that its subscription still answers, and how long an answer vouches for it. */
const HEARTBEAT_MS = 500;
const TRUSTED_FOR_MS = 1_500;

/**
 * The credentials version. With a subscriber, as announced: read once after each
 * (re)subscription and after each announcement, otherwise known without a round trip. The
 * subscription is trusted only while it answers: a PING answered on it means every
 * announcement published before the PING has arrived. Without a subscriber, unsubscribed,
 * reconnecting, or silent for TRUSTED_FOR_MS (a connection that died without closing), it is
 * read before every call, so no announcement is missed.
 */
class VersionWatch {
  #subscribed = false;
  /** When the last PING that was answered was sent (or the subscription confirmed). */
  #confirmedAt = Number.NEGATIVE_INFINITY;
  /** undefined: not known, read it. */
  #known: string | null | undefined;
  /** Bumped by every announcement and (re)subscription: a read sent before one must not be kept. */
  #generation = 0;
  #closed = false;
  readonly #key: string;
  readonly #channel: string;
  readonly #heartbeat: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: RedisConnection,
    private readonly subscriber: Redis | undefined,
    prefix: string,
    private readonly logger: Logger | undefined,
  ) {
    this.#key = credentialsVersionKey(prefix);
    this.#channel = credentialsChangedChannel(prefix);
    if (!subscriber) return;
    subscriber.on('message', this.#onMessage);
    subscriber.on('ready', this.#subscribe);
    subscriber.on('close', this.#onClose);
    this.#heartbeat = setInterval(this.#ping, HEARTBEAT_MS).unref();
    if (subscriber.status === 'ready') void this.#subscribe();
  }

  /** Subscribed, and the subscription answered lately. */
  get trusted(): boolean {
    return this.#subscribed && performance.now() - this.#confirmedAt < TRUSTED_FOR_MS;
  }

  async current(): Promise<string | null> {
    if (this.#known !== undefined && this.trusted) return this.#known;
    const generation = this.#generation;
    const version = await this.redis.get(this.#key);
    if (this.#subscribed && generation === this.#generation) this.#known = version;
    return version;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#heartbeat);
    this.#onClose();
    this.subscriber?.off('message', this.#onMessage);
    this.subscriber?.off('ready', this.#subscribe);
    this.subscriber?.off('close', this.#onClose);
  }

  readonly #onMessage = (channel: string) => {
    if (channel !== this.#channel) return;
    this.#generation += 1;
    this.#known = undefined;
  };

  readonly #onClose = () => {
    this.#subscribed = false;
    this.#generation += 1;
    this.#known = undefined;
  };

  readonly #ping = () => {
    if (!this.#subscribed || !this.subscriber) return;
    const sentAt = performance.now();
    this.subscriber.ping().then(
      () => {
        if (this.#subscribed) this.#confirmedAt = Math.max(this.#confirmedAt, sentAt);
      },
      () => {},
    );
  };

  // Subscribed only once Redis confirmed it: a version read after that cannot miss a later announcement.
  readonly #subscribe = async () => {
    if (!this.subscriber) return;
    try {
      await this.subscriber.subscribe(this.#channel);
    } catch (error) {
      this.logger?.warn({ err: error }, 'subscribing to provider key changes failed; reading the version before each call');
      return;
    }
    if (this.#closed || this.subscriber.status !== 'ready') return;
    this.#generation += 1;
    this.#known = undefined;
    this.#confirmedAt = performance.now();
    this.#subscribed = true;
  };
}
