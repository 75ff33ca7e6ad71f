import type { Redis } from 'ioredis';

/** Every key a product process using REDIS_PREFIX `prefix` may write: `prefix…` and BullMQ's `{prefix}…`. */
async function* keysOf(redis: Redis, prefix: string): AsyncGenerator<string[]> {
  for (const pattern of [`${prefix}*`, `{${prefix}}*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) yield keys;
    } while (cursor !== '0');
  }
}

export async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for await (const keys of keysOf(redis, prefix)) deleted += await redis.unlink(...keys);
  return deleted;
}

/** How many keys the prefix owns and the bytes Redis reports for them (MEMORY USAGE). */
export async function keyFootprint(redis: Redis, prefix: string): Promise<{ keys: number; bytes: number }> {
  let keys = 0;
  let bytes = 0;
  for await (const batch of keysOf(redis, prefix)) {
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.memory('USAGE', key);
    for (const [, usage] of (await pipeline.exec()) ?? []) bytes += Number(usage ?? 0);
    keys += batch.length;
  }
  return { keys, bytes };
}

export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
}

/** `INFO commandstats` as {command: calls}, to see what a workload asked Redis to do. */
export async function commandCalls(redis: Redis): Promise<Record<string, number>> {
  const info = await redis.info('commandstats');
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls[match[1]!] = Number(match[2]);
  return calls;
}

/** The calls made between two commandstats snapshots, largest first. */
export function commandDelta(before: Record<string, number>, after: Record<string, number>, top = 15): Record<string, number> {
  const delta = Object.entries(after)
    .map(([command, calls]) => [command, calls - (before[command] ?? 0)] as const)
    .filter(([, calls]) => calls > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, top);
  return Object.fromEntries(delta);
}
