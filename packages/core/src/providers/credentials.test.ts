import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import type { Config } from '../config.ts';
import { SecretBox } from '../crypto/secret-box.ts';
import { createDatabase } from '../db/client.ts';
import { createRedis } from '../queue/connection.ts';
import { testConfig } from '../../testkit/index.ts';
import { ProviderError, ProviderNotConfiguredError, UnknownProviderError } from './errors.ts';
import { ProviderCache, createProvider, deleteProviderKey, providerStatus, saveProviderKey } from './credentials.ts';
import { ProviderRegistry } from './registry.ts';
import type { ProviderDefinition, ProviderSettings } from './types.ts';

const db = createDatabase(process.env.DATABASE_URL!);
const encryptionKey = randomBytes(32);
const suffix = randomBytes(4).toString('hex');
const ids = { stored: `stored-${suffix}`, env: `env-${suffix}`, none: `none-${suffix}` };

afterAll(async () => {
  await db.providerCredential.deleteMany({ where: { provider: { in: Object.values(ids) } } });
  await db.$disconnect();
});

/** A fake provider per id whose `create` records the settings it got. */
function fakeRegistry() {
  const created: { id: string; settings: ProviderSettings }[] = [];
  const reg = new ProviderRegistry();
  for (const id of Object.values(ids)) {
    const upper = id.toUpperCase().replace(/-/g, '_');
    const definition: ProviderDefinition = {
      id,
      name: `Fake ${id}`,
      env: { apiKey: `${upper}_API_KEY`, baseUrl: `${upper}_BASE_URL` },
      matches: () => false,
      supportedTools: [],
      create(settings) {
        created.push({ id, settings });
        return { id, chat: async () => Promise.reject(new Error('not used')) };
      },
    };
    reg.register(definition);
  }
  return { reg, created };
}

function configWith(env: Record<string, string>): Config {
  return { ...testConfig({ ENCRYPTION_KEY: encryptionKey.toString('base64'), PROVIDER_TIMEOUT_SECONDS: '42' }), ...env } as Config;
}

const envName = (id: string, what: 'API_KEY' | 'BASE_URL') => `${id.toUpperCase().replace(/-/g, '_')}_${what}`;

describe('provider credentials', () => {
  const { reg, created } = fakeRegistry();
  const config = configWith({
    [envName(ids.stored, 'API_KEY')]: 'env-key-for-stored-0000',
    [envName(ids.stored, 'BASE_URL')]: 'http://127.0.0.1:1/env',
    [envName(ids.env, 'API_KEY')]: 'env-key-abcdefgh-9876',
  });

  it('says which providers are configured and from where, with at most 4 key characters', async () => {
    await saveProviderKey(db, config, ids.stored, { apiKey: 'sk-stored-secret-1234' }, { registry: reg });
    const status = await providerStatus(db, config, reg);
    expect(status).toEqual([
      { id: ids.stored, name: `Fake ${ids.stored}`, configured: true, source: 'stored', keyHint: '…1234' },
      { id: ids.env, name: `Fake ${ids.env}`, configured: true, source: 'env', keyHint: '…9876' },
      { id: ids.none, name: `Fake ${ids.none}`, configured: false, source: null, keyHint: null },
    ]);
    expect(JSON.stringify(status)).not.toContain('secret');
  });

  it('stores the key encrypted, never in clear', async () => {
    const row = await db.providerCredential.findUniqueOrThrow({ where: { provider: ids.stored } });
    expect(row.encryptedKey).not.toContain('sk-stored-secret-1234');
    expect(new SecretBox(encryptionKey).open(row.encryptedKey)).toBe('sk-stored-secret-1234');
  });

  it('builds a provider from the stored key, which wins over the environment', async () => {
    await createProvider(db, config, ids.stored, { registry: reg });
    expect(created.at(-1)).toMatchObject({
      id: ids.stored,
      settings: { apiKey: 'sk-stored-secret-1234', baseUrl: 'http://127.0.0.1:1/env', timeoutMs: 42_000, maxRetries: config.PROVIDER_MAX_RETRIES },
    });
    await saveProviderKey(db, config, ids.stored, { apiKey: 'sk-stored-secret-5678', baseUrl: 'http://127.0.0.1:2/stored' }, { registry: reg });
    await createProvider(db, config, ids.stored, { registry: reg });
    expect(created.at(-1)!.settings).toMatchObject({ apiKey: 'sk-stored-secret-5678', baseUrl: 'http://127.0.0.1:2/stored' });
  });

  it('falls back to the environment key once the stored key is deleted', async () => {
    expect(await deleteProviderKey(db, ids.stored, { registry: reg })).toBe(true);
    expect(await deleteProviderKey(db, ids.stored, { registry: reg })).toBe(false);
    await createProvider(db, config, ids.stored, { registry: reg });
    expect(created.at(-1)!.settings).toMatchObject({ apiKey: 'env-key-for-stored-0000', baseUrl: 'http://127.0.0.1:1/env' });
    expect((await providerStatus(db, config, reg))[0]).toMatchObject({ source: 'env', keyHint: '…0000' });
  });

  it('refuses an unconfigured or unknown provider with typed errors', async () => {
    await expect(createProvider(db, config, ids.none, { registry: reg })).rejects.toBeInstanceOf(ProviderNotConfiguredError);
    await expect(createProvider(db, config, 'no-such-provider', { registry: reg })).rejects.toBeInstanceOf(UnknownProviderError);
  });

  it('fails permanently, without the key, when a stored key does not decrypt', async () => {
    await saveProviderKey(db, config, ids.none, { apiKey: 'sk-other-key-4321' }, { registry: reg });
    const otherKey: Config = { ...config, ENCRYPTION_KEY: randomBytes(32) };
    const error = await createProvider(db, otherKey, ids.none, { registry: reg }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ transient: false, kind: 'auth' });
    expect((error as Error).message).not.toContain('sk-other');
    await deleteProviderKey(db, ids.none, { registry: reg });
  });

  it('caches clients for the TTL and rebuilds one only when its key changed', async () => {
    let now = 1_000;
    const cache = new ProviderCache(db, config, { registry: reg, ttlMs: 100, now: () => now });
    const first = await cache.get(ids.env);
    expect(await cache.get(ids.env)).toBe(first);

    await saveProviderKey(db, config, ids.env, { apiKey: 'sk-rotated-key-2222' }, { registry: reg });
    expect(await cache.get(ids.env)).toBe(first);
    now += 101;
    const rotated = await cache.get(ids.env);
    expect(rotated).not.toBe(first);
    expect(created.at(-1)!.settings.apiKey).toBe('sk-rotated-key-2222');

    now += 101;
    expect(await cache.get(ids.env)).toBe(rotated);
    await deleteProviderKey(db, ids.env, { registry: reg });
    cache.invalidate(ids.env);
    expect(await cache.get(ids.env)).not.toBe(rotated);
    expect(created.at(-1)!.settings.apiKey).toBe('env-key-abcdefgh-9876');
  });

  it('applies a stored, replaced or deleted key from the next call in every worker, before any cache expires', async () => {
    const redis = createRedis(process.env.REDIS_URL!);
    try {
      const notify = { redis, prefix: config.REDIS_PREFIX };
      const workers = [0, 1].map(() => new ProviderCache(db, config, { registry: reg, redis, ttlMs: 3_600_000 }));
      const before = await Promise.all(workers.map((worker) => worker.get(ids.env)));
      expect(created.at(-1)!.settings.apiKey).toBe('env-key-abcdefgh-9876');

      await saveProviderKey(db, config, ids.env, { apiKey: 'sk-stored-now-3333' }, { registry: reg, notify });
      const stored = await Promise.all(workers.map((worker) => worker.get(ids.env)));
      stored.forEach((provider, i) => expect(provider).not.toBe(before[i]));
      expect(created.slice(-2).map((entry) => entry.settings.apiKey)).toEqual(['sk-stored-now-3333', 'sk-stored-now-3333']);

      await deleteProviderKey(db, ids.env, { registry: reg, notify });
      await Promise.all(workers.map((worker) => worker.get(ids.env)));
      // The deleted key is never used again: the environment's key applies at once.
      expect(created.slice(-2).map((entry) => entry.settings.apiKey)).toEqual(['env-key-abcdefgh-9876', 'env-key-abcdefgh-9876']);
    } finally {
      redis.disconnect();
    }
  });

  describe('with change announcements (a worker subscribed to them)', () => {
    /** Counts the reads of the credentials version on a real connection. */
    function countVersionReads(redis: Redis): { count: number } {
      const reads = { count: 0 };
      const get = redis.get.bind(redis);
      redis.get = ((key: string) => {
        if (key.endsWith(':provider-credentials:version')) reads.count += 1;
        return get(key);
      }) as typeof redis.get;
      return reads;
    }

    async function subscribedWorker() {
      const redis = createRedis(process.env.REDIS_URL!);
      const subscriber = createRedis(process.env.REDIS_URL!);
      const cache = new ProviderCache(db, config, { registry: reg, redis, subscriber, ttlMs: 3_600_000 });
      await vi.waitFor(() => expect(cache.subscribed).toBe(true));
      const notify = { redis, prefix: config.REDIS_PREFIX };
      const close = async () => {
        await cache.close();
        await cache.close();
        redis.disconnect();
        subscriber.disconnect();
        await deleteProviderKey(db, ids.env, { registry: reg });
      };
      return { redis, subscriber, cache, notify, reads: countVersionReads(redis), close };
    }

    async function withSubscribedWorker(test: (worker: Awaited<ReturnType<typeof subscribedWorker>>) => Promise<void>): Promise<void> {
      const worker = await subscribedWorker();
      try {
        await test(worker);
      } finally {
        await worker.close();
      }
    }

    it('reads the version once while subscribed, and again only after an announced change, which then applies', () =>
      withSubscribedWorker(async (worker) => {
        const before = await worker.cache.get(ids.env);
        for (let i = 0; i < 5; i++) expect(await worker.cache.get(ids.env)).toBe(before);
        expect(worker.reads.count).toBe(1);

        await saveProviderKey(db, config, ids.env, { apiKey: 'sk-announced-4444' }, { registry: reg, notify: worker.notify });
        await vi.waitFor(async () => expect(await worker.cache.get(ids.env)).not.toBe(before));
        expect(created.at(-1)!.settings.apiKey).toBe('sk-announced-4444');
        const readsAfterChange = worker.reads.count;
        for (let i = 0; i < 5; i++) await worker.cache.get(ids.env);
        expect(worker.reads.count).toBe(readsAfterChange);
      }));

    it('while its subscription is down, reads the version before every call: a deleted key is not used by the next call', () =>
      withSubscribedWorker(async (worker) => {
        await saveProviderKey(db, config, ids.env, { apiKey: 'sk-soon-deleted-5555' }, { registry: reg, notify: worker.notify });
        await vi.waitFor(async () => {
          await worker.cache.get(ids.env);
          expect(created.at(-1)!.settings.apiKey).toBe('sk-soon-deleted-5555');
        });
        worker.subscriber.disconnect();
        await vi.waitFor(() => expect(worker.cache.subscribed).toBe(false));

        await deleteProviderKey(db, ids.env, { registry: reg, notify: worker.notify });
        const readsBefore = worker.reads.count;
        await worker.cache.get(ids.env);
        expect(created.at(-1)!.settings.apiKey).toBe('env-key-abcdefgh-9876');
        await worker.cache.get(ids.env);
        expect(worker.reads.count).toBe(readsBefore + 2);
      }));

    it('stays subscribed on its heartbeat beyond the time one answer vouches for, reading nothing meanwhile', () =>
      withSubscribedWorker(async (worker) => {
        await worker.cache.get(ids.env);
        let answered = 0;
        const ping = worker.subscriber.ping.bind(worker.subscriber);
        worker.subscriber.ping = (async () => {
          const pong = await ping();
          answered += 1;
          return pong;
        }) as typeof worker.subscriber.ping;
        // Four answered heartbeats span more than the 1.5 s one answer vouches for.
        await vi.waitFor(() => expect(answered).toBeGreaterThanOrEqual(4), { timeout: 10_000 });
        expect(worker.cache.subscribed).toBe(true);
        await worker.cache.get(ids.env);
        expect(worker.reads.count).toBe(1);
      }));

    it('when its subscription stops answering (a connection that died without closing), reads the version before every call again', () =>
      withSubscribedWorker(async (worker) => {
        await worker.cache.get(ids.env);
        await worker.cache.get(ids.env);
        expect(worker.reads.count).toBe(1);
        // The connection stays open, but nothing it is asked comes back.
        worker.subscriber.ping = (() => new Promise(() => {})) as typeof worker.subscriber.ping;
        await vi.waitFor(() => expect(worker.cache.subscribed).toBe(false), { timeout: 10_000 });
        await worker.cache.get(ids.env);
        await worker.cache.get(ids.env);
        expect(worker.reads.count).toBe(3);
      }));

    it('after its subscription comes back, reads the version again: a change made while it was down is not missed', () =>
      withSubscribedWorker(async (worker) => {
        const before = await worker.cache.get(ids.env);
        worker.subscriber.disconnect();
        await vi.waitFor(() => expect(worker.cache.subscribed).toBe(false));
        // Announced while nobody listens; the worker makes no call meanwhile.
        await saveProviderKey(db, config, ids.env, { apiKey: 'sk-while-away-6666' }, { registry: reg, notify: worker.notify });

        await worker.subscriber.connect();
        await vi.waitFor(() => expect(worker.cache.subscribed).toBe(true));
        expect(await worker.cache.get(ids.env)).not.toBe(before);
        expect(created.at(-1)!.settings.apiKey).toBe('sk-while-away-6666');
      }));
  });

  it('refuses a stored base URL on a metadata or private address where the key would be used, unless PROVIDER_ALLOW_PRIVATE', async () => {
    // Stored straight into Postgres, as a URL saved before the guard existed would be.
    await saveProviderKey(db, config, ids.none, { apiKey: 'sk-metadata-key-5555' }, { registry: reg });
    await db.providerCredential.update({ where: { provider: ids.none }, data: { baseUrl: 'http://169.254.169.254/v1' } });
    try {
      const refused = await createProvider(db, { ...config, PROVIDER_ALLOW_PRIVATE: false }, ids.none, { registry: reg }).catch((e: unknown) => e);
      expect(refused).toBeInstanceOf(ProviderError);
      expect((refused as Error).message).toContain('PROVIDER_ALLOW_PRIVATE');
      expect((refused as Error).message).not.toContain('sk-metadata');
      await expect(createProvider(db, { ...config, PROVIDER_ALLOW_PRIVATE: true }, ids.none, { registry: reg })).resolves.toBeDefined();
    } finally {
      await deleteProviderKey(db, ids.none, { registry: reg });
    }
  });
});
