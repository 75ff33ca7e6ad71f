import { createRedis } from '@conveyor/core';
import type { RunJobData } from '@conveyor/core';
import { createRunsQueue } from '@conveyor/core';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { ApiClient } from './api-client.ts';
import type { CpuGroup } from './cpu-time.ts';
import type { BenchContext } from './benchmark.ts';
import { firstLine, type NodeProcess, spawnNode, waitUntilReady } from './processes.ts';
import { imageEnvironment, productEntries } from './product.ts';
import { RunsDb } from './runs-db.ts';
import { freePort } from '@conveyor/core';

export interface EmulatorProcess {
  url: string;
  process: NodeProcess;
}

/** The product, running as real compiled processes against the bench database and a Redis prefix of its own. */
export interface Stack {
  prefix: string;
  /** The environment every product process of this stack gets. */
  env: Record<string, string>;
  redis: Redis;
  runsQueue: Queue<RunJobData>;
  db: RunsDb;
  /** Absent when the stack was started without one (no worker will call a provider). */
  emulator?: EmulatorProcess;
  apis: Array<{ url: string; client: ApiClient; process: NodeProcess }>;
  workers: NodeProcess[];
  /** The first API's client. */
  api: ApiClient;
  /** Creates an agent and a pipeline of `steps` steps; its runs are deleted from the bench database afterwards. */
  pipeline(label: string, steps: number): Promise<string>;
  startWorkers(count: number, concurrency: number): Promise<NodeProcess[]>;
  /**
   * Puts `runs` runs of `steps` steps through the running workers and waits for them, so
   * that what a benchmark measures next is a warm process (JIT, lazy imports, first
   * queries), as it is in production. Leaves the queue paused.
   */
  warmUp(runs: number, steps: number): Promise<void>;
  /**
   * The processes whose CPU time a benchmark reads (bench/harness/cpu-time.ts): workers, APIs, the emulator,
   * Postgres, Redis. `workerPids` counts those processes (a baseline's workers) as the workers instead.
   */
  cpuGroups(workerPids?: number[]): Record<string, CpuGroup>;
}

export interface StackOptions {
  label: string;
  apis?: number;
  workers?: number;
  workerConcurrency?: number;
  /** Start an LLM emulator for the workers (default true). */
  emulator?: boolean;
  /** Stamp streamed benchmark tokens in the emulator (the sse benchmark). */
  stampTokens?: boolean;
  /** Start the workers with the runs queue paused, so a benchmark can enqueue first and release everything at once. */
  paused?: boolean;
  databaseUrl?: string;
  /** Added to every product process's environment. */
  env?: Record<string, string>;
}

export function profileArgs(ctx: BenchContext): string[] {
  return ctx.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.profileDir}`] : [];
}


export async function startEmulatorProcess(ctx: BenchContext, port: number, stampTokens = false): Promise<EmulatorProcess> {
  const proc = spawnNode(ctx.scope, 'llm emulator', 'bench/harness/emulator-process.ts', { PORT: String(port), STAMP_TOKENS: stampTokens ? '1' : '0' });
  const line = await firstLine(proc, (l) => l.startsWith('ready '));
  return { url: line.slice('ready '.length).trim(), process: proc };
}

async function startApi(ctx: BenchContext, env: Record<string, string>, index: number) {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnNode(ctx.scope, `api ${index + 1}`, productEntries.api, { ...env, PORT: String(port) }, profileArgs(ctx));
  await waitUntilReady(proc, async () => (await fetch(`${url}/readyz`)).ok);
  return { url, client: new ApiClient(url, ctx.env.apiToken, proc.recentOutput), process: proc };
}

/**
 * Starts an emulator, API processes and worker processes (the bundles `buildProduct`
 * wrote), in parallel. Everything is stopped, and the prefix's Redis keys deleted,
 * when the benchmark's scope closes.
 */
export async function startStack(ctx: BenchContext, options: StackOptions): Promise<Stack> {
  const prefix = ctx.prefix(options.label);
  const redis = createRedis(ctx.env.redisUrl);
  ctx.scope.defer('close bench redis', () => redis.quit());
  const runsQueue = createRunsQueue(redis, prefix);
  ctx.scope.defer('close runs queue', () => runsQueue.close());
  if (options.paused) await runsQueue.pause();

  const databaseUrl = options.databaseUrl ?? ctx.env.databaseUrl;
  // The emulator's port is chosen up front so that it, the APIs and the workers all start at once.
  const emulatorPort = await freePort();
  const providerUrl = `http://127.0.0.1:${emulatorPort}`;
  const env: Record<string, string> = {
    ...imageEnvironment(),
    DATABASE_URL: databaseUrl,
    REDIS_URL: ctx.env.redisUrl,
    REDIS_PREFIX: prefix,
    API_TOKENS: ctx.env.apiToken,
    ENCRYPTION_KEY: ctx.env.encryptionKey,
    ADMIN_USER: 'bench',
    ADMIN_PASSWORD: ctx.env.apiToken,
    // The processes run with NODE_ENV=production, which refuses unsigned webhooks.
    WEBHOOK_SECRET: `whsec_${Buffer.from(ctx.env.apiToken.padEnd(32, '0')).toString('base64')}`,
    HOST: '127.0.0.1',
    ANTHROPIC_API_KEY: 'bench-anthropic-key',
    ANTHROPIC_BASE_URL: providerUrl,
    OPENAI_API_KEY: 'bench-openai-key',
    OPENAI_BASE_URL: `${providerUrl}/v1`,
    // The emulator listens on loopback.
    PROVIDER_ALLOW_PRIVATE: 'true',
    ...options.env,
  };

  const workers: NodeProcess[] = [];
  const startWorkers = async (count: number, concurrency: number) => {
    const started = Array.from({ length: count }, (_, i) =>
      spawnNode(ctx.scope, `worker ${workers.length + i + 1}`, productEntries.worker, { ...env, WORKER_CONCURRENCY: String(concurrency) }, profileArgs(ctx)),
    );
    workers.push(...started);
    const expected = workers.length;
    await Promise.all(started.map((proc) => waitUntilReady(proc, async () => (await runsQueue.getWorkersCount()) >= expected)));
    return started;
  };

  const [emulator, apis] = await Promise.all([
    options.emulator === false ? undefined : startEmulatorProcess(ctx, emulatorPort, options.stampTokens),
    Promise.all(Array.from({ length: options.apis ?? 1 }, (_, i) => startApi(ctx, env, i))),
    options.workers ? startWorkers(options.workers, options.workerConcurrency ?? 10) : Promise.resolve([]),
  ]);

  const db = new RunsDb(ctx.scope, databaseUrl);
  const pipeline = async (label: string, steps: number) => {
    const pipelineId = await apis[0]!.client.createBenchPipeline(label, steps);
    if (!ctx.env.keepRuns) ctx.scope.defer(`delete runs of ${pipelineId}`, () => db.deleteRuns(pipelineId));
    return pipelineId;
  };

  const warmUp = async (runs: number, steps: number) => {
    const pipelineId = await pipeline(`warm-up ${steps} steps`, steps);
    await runsQueue.resume();
    await apis[0]!.client.createRuns(pipelineId, runs);
    await db.waitForFinished(pipelineId, runs, 120_000);
    await runsQueue.pause();
  };

  return {
    prefix,
    env,
    warmUp,
    redis,
    runsQueue,
    db,
    pipeline,
    emulator,
    apis,
    workers,
    api: apis[0]!.client,
    startWorkers,
    cpuGroups: (workerPids = workers.map((worker) => worker.pid)) => ({
      workers: { pids: workerPids },
      apis: { pids: apis.map((api) => api.process.pid) },
      ...(emulator ? { emulator: { pids: [emulator.process.pid] } } : {}),
      postgres: { command: 'postgres' },
      redis: { command: 'redis-server' },
    }),
  };
}
