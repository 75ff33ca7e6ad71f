import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Database } from '@conveyor/core';
import { newId } from '@conveyor/core';
import type { Emulator } from '@conveyor/llm-emulator';

const mainPath = fileURLToPath(new URL('../src/main.ts', import.meta.url));

/** The environment a worker process needs to reach the test database, Redis and the emulator. */
export function workerEnv(prefix: string, emulator: Emulator, extra: Record<string, string> = {}): Record<string, string> {
  return {
    DATABASE_URL: process.env.DATABASE_URL!,
    REDIS_URL: process.env.REDIS_URL!,
    REDIS_PREFIX: prefix,
    ...emulator.providerEnv(),
    PROVIDER_MAX_RETRIES: '0',
    // Off unless a test turns it on: it would adopt runs that other tests of the same file leave queued.
    RECONCILE_INTERVAL_SECONDS: '0',
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    ...extra,
  };
}

export interface WorkerHandle {
  child: ChildProcess;
  /** Log lines so far (JSON objects). */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  kill(signal: NodeJS.Signals): void;
}

/** Spawns `apps/worker/src/main.ts` and resolves once it has started. */
export async function spawnWorker(env: Record<string, string>): Promise<WorkerHandle> {
  const child = spawn(process.execPath, ['--import', 'tsx', mainPath], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  let buffered = '';
  let stderr = '';
  const started = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const entry = JSON.parse(line) as Record<string, unknown>;
          logs.push(entry);
          if (entry.msg === 'worker started') resolve();
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('exit', (code) => reject(new Error(`worker exited (${code}) before starting: ${stderr}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  await started;
  return { child, logs, exited, kill: (signal) => child.kill(signal) };
}

export async function stopWorker(worker: WorkerHandle | undefined): Promise<void> {
  if (!worker || worker.child.exitCode !== null || worker.child.signalCode !== null) return;
  worker.kill('SIGKILL');
  await worker.exited;
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export function waitForRunStatus(db: Database, runId: string, statuses: string[], timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const run = await db.run.findUnique({ where: { id: runId }, include: { steps: { orderBy: { index: 'asc' } }, artifact: true } });
      return run && statuses.includes(run.status) ? run : undefined;
    },
    timeoutMs,
    `run ${runId} to be ${statuses.join('|')}`,
  );
}

export interface PipelineFixture {
  pipelineId: string;
  agentIds: string[];
}

/** Agents and a pipeline written straight to the database (the API's own tests cover their routes). */
export async function createPipeline(
  db: Database,
  steps: { model: string; prompt?: string }[],
  options: { maxDurationSeconds?: number } = {},
): Promise<PipelineFixture> {
  const agentIds: string[] = [];
  for (const step of steps) {
    const id = newId('agt');
    await db.agent.create({ data: { id, name: `agent ${id}`, model: step.model } });
    agentIds.push(id);
  }
  const pipelineId = newId('pip');
  await db.pipeline.create({
    data: {
      id: pipelineId,
      name: `pipeline ${pipelineId}`,
      maxDurationSeconds: options.maxDurationSeconds ?? null,
      steps: { create: steps.map((step, index) => ({ index, agentId: agentIds[index]!, prompt: step.prompt ?? null })) },
    },
  });
  return { pipelineId, agentIds };
}

/** A queued run with its pending steps, as the API stores it (not enqueued). */
export async function createRun(
  db: Database,
  fixture: PipelineFixture,
  input: unknown,
  options: { ttlSeconds?: number; createdAt?: Date } = {},
): Promise<string> {
  const id = newId('run');
  await db.run.create({
    data: {
      id,
      pipelineId: fixture.pipelineId,
      input: input as never,
      ttlSeconds: options.ttlSeconds ?? null,
      ...(options.createdAt ? { createdAt: options.createdAt } : {}),
      steps: { createMany: { data: fixture.agentIds.map((agentId, index) => ({ index, agentId })) } },
    },
  });
  return id;
}

/** Parses a Server-Sent Events body into events until it ends. */
export async function readSse(response: Response): Promise<{ id?: string; event?: string; data: string }[]> {
  const text = await response.text();
  return parseSse(text);
}

export function parseSse(text: string): { id?: string; event?: string; data: string }[] {
  const events: { id?: string; event?: string; data: string }[] = [];
  for (const block of text.split('\n\n')) {
    if (!block.trim()) continue;
    const event: { id?: string; event?: string; data: string } = { data: '' };
    let hasField = false;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') event.id = value;
      else if (field === 'event') event.event = value;
      else if (field === 'data') event.data += (event.data ? '\n' : '') + value;
      else continue;
      hasField = true;
    }
    if (hasField) events.push(event);
  }
  return events;
}

/** Deletes every key under `prefix` (never FLUSHDB: other test files share the Redis db). */
export async function deleteKeys(redis: import('ioredis').Redis, prefix: string): Promise<number> {
  let deleted = 0;
  for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}

export async function countKeys(redis: import('ioredis').Redis, prefix: string): Promise<number> {
  let count = 0;
  for (const pattern of [`${prefix}:*`, `{${prefix}}:*`]) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
  }
  return count;
}
