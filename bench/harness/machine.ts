import { cpus, totalmem, release, platform } from 'node:os';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { wakeUpCostMicros } from './wake-up-cost.ts';

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  os: string;
  node: string;
  redis: string;
  postgres: string;
  /** CPU µs a sleeping process spends to wake for one message (see wakeUpCostMicros). */
  wakeUpMicros: number;
}

export async function machineInfo(redis: Redis, databaseUrl: string): Promise<MachineInfo> {
  const server = await redis.info('server');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ server_version: string }>('SHOW server_version');
    return {
      cores: cpus().length,
      cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
      memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
      os: `${platform()} ${release()}`,
      node: process.version,
      redis: /redis_version:(\S+)/.exec(server)?.[1] ?? 'unknown',
      postgres: rows[0]?.server_version ?? 'unknown',
      wakeUpMicros: await wakeUpCostMicros(),
    };
  } finally {
    await client.end();
  }
}

export function describeMachine(machine: MachineInfo): string {
  return `${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGiB} GiB, ${machine.os}, Node ${machine.node}, Redis ${machine.redis}, Postgres ${machine.postgres}; a process spends ${machine.wakeUpMicros} µs of CPU waking for a message`;
}
