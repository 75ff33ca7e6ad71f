import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, createRedis, createSchedulesQueue, freePort } from '@conveyor/core';
import { testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { createPipeline, deleteKeys, spawnWorker, stopWorker, waitFor, workerEnv, type WorkerHandle } from './harness.ts';

const serverPath = fileURLToPath(new URL('../../api/src/server.ts', import.meta.url));
const TOKEN = 'schedules-processes-token';

/** Two API processes and two worker processes on one Redis prefix, as a deployment runs them. */
describe('schedules across processes', () => {
  const prefix = testPrefix('schedules-processes');
  const db = createDatabase(process.env.DATABASE_URL!, { max: 2 });
  const redis = createRedis(process.env.REDIS_URL!);
  const schedulesQueue = createSchedulesQueue(redis, prefix);
  let emulator: Emulator;
  const workers: WorkerHandle[] = [];
  const apis: { child: ChildProcess; base: string }[] = [];
  let output = '';

  async function startApi(): Promise<{ child: ChildProcess; base: string }> {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', serverPath], {
      env: { ...workerEnv(prefix, emulator), PATH: process.env.PATH ?? '', API_TOKENS: TOKEN, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const base = `http://127.0.0.1:${port}`;
    await waitFor(() => fetch(`${base}/readyz`).then((r) => r.ok, () => false), 90_000, `the API on ${port}\n${output}`);
    return { child, base };
  }

  const call = async (base: string, method: string, path: string, body?: unknown) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
    return (await response.json()) as any;
  };

  beforeAll(async () => {
    emulator = await startEmulator();
    // Each worker reconciles every second (one at a time, under the reconciler's lock).
    const env = workerEnv(prefix, emulator, { LOG_LEVEL: 'debug', RECONCILE_INTERVAL_SECONDS: '1' });
    const started = await Promise.all([spawnWorker(env), spawnWorker(env), startApi(), startApi()]);
    workers.push(started[0], started[1]);
    apis.push(started[2], started[3]);
  }, 180_000);

  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    for (const api of apis) {
      api.child.kill('SIGKILL');
    }
    await schedulesQueue.obliterate({ force: true }).catch(() => undefined);
    await schedulesQueue.close();
    await deleteKeys(redis, prefix).catch(() => undefined);
    redis.disconnect();
    await db.$disconnect();
    await emulator?.close();
  });

  const scheduledRuns = (scheduleId: string) =>
    db.run.findMany({ where: { scheduleId }, select: { id: true, scheduledFor: true }, orderBy: { scheduledFor: 'asc' } });

  it('a 6-field schedule every 2 s makes exactly one run per fire time, and survives Redis losing it', { timeout: 120_000 }, async () => {
    const [a, b] = apis as [(typeof apis)[0], (typeof apis)[0]];
    const { pipelineId } = await createPipeline(db, [{ model: 'claude-haiku-4-5' }]);
    const schedule = await call(a.base, 'POST', `/v1/pipelines/${pipelineId}/schedules`, { cron: '*/2 * * * * *', input: 'tick' });
    // Both API processes write the same schedule to Redis at once (each change does).
    await Promise.all([a, b, a, b].map((api) => call(api.base, 'PATCH', `/v1/schedules/${schedule.id}`, { enabled: true })));

    await waitFor(async () => (await scheduledRuns(schedule.id)).length >= 5, 60_000, 'five scheduled runs');

    // Redis loses the job scheduler: the reconciler makes it again from Postgres and fires resume.
    await schedulesQueue.removeJobScheduler(schedule.id);
    const before = (await scheduledRuns(schedule.id)).length;
    await waitFor(async () => (await schedulesQueue.getJobScheduler(schedule.id)) !== undefined, 30_000, 'the reconciler to restore the schedule');
    await waitFor(async () => (await scheduledRuns(schedule.id)).length >= before + 3, 60_000, 'three more runs');

    await call(b.base, 'PATCH', `/v1/schedules/${schedule.id}`, { enabled: false });
    const runs = await scheduledRuns(schedule.id);
    const fireTimes = runs.map((run) => run.scheduledFor!.getTime());
    expect(new Set(fireTimes).size).toBe(runs.length);
    for (const time of fireTimes) expect(time % 2000).toBe(0);

    // Each fire time reached the workers once: no fire was a duplicate that only Postgres caught.
    const fires = workers.flatMap((worker) => worker.logs.filter((line) => line.msg === 'schedule fired' && line.scheduleId === schedule.id));
    expect(fires.filter((line) => line.status === 'existed')).toEqual([]);
    expect(new Set(fires.map((line) => line.runId)).size).toBe(fires.filter((line) => line.status === 'created').length);
    expect(fires.some((line) => line.status === 'created')).toBe(true);

    const shown = await call(a.base, 'GET', `/v1/runs/${runs[0]!.id}`);
    expect(shown).toMatchObject({ scheduleId: schedule.id, scheduledFor: runs[0]!.scheduledFor!.toISOString() });
  });
});
