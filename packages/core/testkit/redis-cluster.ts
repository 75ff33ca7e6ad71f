import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from '../src/net/free-port.ts';

export interface TestRedisCluster {
  /** `127.0.0.1:port` of each master, comma-separated: a REDIS_CLUSTER_NODES value. */
  nodes: string;
  ports: number[];
  close(): Promise<void>;
}

const SLOTS = 16384;

/** Whether Debian's `redis-server` (package redis-server) is installed. */
export function hasRedisServer(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * A three-master Redis Cluster on free ports of 127.0.0.1, nothing kept on disk: each master
 * gets a third of the slots, they meet, and it resolves once every node says the cluster is ok.
 */
export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'conveyor-redis-cluster-'));
  const children: ChildProcess[] = [];
  const clients: Redis[] = [];
  const close = async () => {
    for (const client of clients) client.disconnect();
    await Promise.all(
      children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGKILL');
          }),
      ),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ports: number[] = [];
    const busPorts: number[] = [];
    for (let i = 0; i < masters; i++) {
      const port = await freePort();
      const busPort = await freePort();
      ports.push(port);
      busPorts.push(busPort);
      const child = spawn(
        'redis-server',
        [
          '--port', String(port), '--bind', '127.0.0.1', '--cluster-enabled', 'yes', '--cluster-port', String(busPort),
          '--cluster-config-file', join(dir, `nodes-${port}.conf`), '--dir', dir, '--save', '', '--appendonly', 'no',
          '--cluster-node-timeout', '2000',
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      const client = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null, retryStrategy: () => 50 });
      client.on('error', () => {});
      clients.push(client);
    }
    // Commands wait in each client's offline queue until its server listens.
    await Promise.all(clients.map((client) => client.ping()));
    const perNode = Math.ceil(SLOTS / masters);
    await Promise.all(clients.map((client, i) => client.call('CLUSTER', 'ADDSLOTSRANGE', String(i * perNode), String(Math.min(SLOTS, (i + 1) * perNode) - 1))));
    for (let i = 1; i < masters; i++) await clients[0]!.call('CLUSTER', 'MEET', '127.0.0.1', String(ports[i]), String(busPorts[i]));
    const deadline = Date.now() + 20_000;
    for (const client of clients) {
      while (!String(await client.call('CLUSTER', 'INFO')).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error('the test Redis Cluster did not reach cluster_state:ok within 20 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    for (const client of clients) client.disconnect();
    clients.length = 0;
    return { nodes: ports.map((port) => `127.0.0.1:${port}`).join(','), ports, close };
  } catch (error) {
    await close();
    throw error;
  }
}
