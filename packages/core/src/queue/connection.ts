import { Cluster, type ClusterOptions, Redis, type RedisOptions } from 'ioredis';

/** A connection to one Redis server or to a Redis Cluster; both take the same commands. */
export type RedisConnection = Redis | Cluster;

/** Where Redis is: REDIS_URL, or the nodes of a cluster (REDIS_URL then gives only credentials and TLS). */
export interface RedisTarget {
  REDIS_URL: string;
  REDIS_CLUSTER_NODES?: readonly { host: string; port: number }[];
}

/** Options of every connection. BullMQ workers need `maxRetriesPerRequest: null` (blocking commands must not fail while Redis restarts). */
const base: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };

/**
 * The one place Redis connections are made: a Cluster client when REDIS_CLUSTER_NODES names
 * nodes, else a connection to REDIS_URL. Keys used together (Lua scripts, XREAD over many
 * streams, BullMQ's scripts) share a `{…}` hash tag so they live in one cluster slot.
 */
export function createRedis(target: string, options?: RedisOptions): Redis;
export function createRedis(target: RedisTarget, options?: RedisOptions): RedisConnection;
export function createRedis(target: string | RedisTarget, options: RedisOptions = {}): RedisConnection {
  const { REDIS_URL: url, REDIS_CLUSTER_NODES: nodes = [] } = typeof target === 'string' ? { REDIS_URL: target } : target;
  if (nodes.length === 0) return new Redis(url, { ...base, ...options });
  const parsed = new URL(url);
  const redisOptions: RedisOptions = {
    ...base,
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
    ...options,
  };
  const { enableAutoPipelining, enableOfflineQueue, lazyConnect } = options;
  return new Cluster([...nodes], {
    redisOptions,
    enableReadyCheck: true,
    ...definedOnly({ enableAutoPipelining, enableOfflineQueue, lazyConnect }),
  });
}

/** Another connection to the same Redis (or cluster), e.g. for blocking reads or pub/sub. */
export function duplicateRedis(connection: Redis, options?: RedisOptions): Redis;
export function duplicateRedis(connection: RedisConnection, options?: RedisOptions): RedisConnection;
export function duplicateRedis(connection: RedisConnection, options: RedisOptions = {}): RedisConnection {
  if (!isCluster(connection)) return connection.duplicate(options);
  const { enableAutoPipelining, enableOfflineQueue, lazyConnect, ...rest } = options;
  const clusterOptions: ClusterOptions = {
    ...definedOnly({ enableAutoPipelining, enableOfflineQueue, lazyConnect }),
    redisOptions: { ...connection.options.redisOptions, ...rest },
  };
  return connection.duplicate([], clusterOptions);
}

export function isCluster(connection: RedisConnection): connection is Cluster {
  return connection instanceof Cluster;
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
