import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDatabase, createRedis, createRunsQueue, enqueueRun, newId } from '@conveyor/core';
import { startTestToolServer, type TestToolServer, testPrefix } from '@conveyor/core/testing';
import { startEmulator, type Emulator } from '@conveyor/llm-emulator';
import { createRun, spawnWorker, stopWorker, waitFor, waitForRunStatus, workerEnv, type WorkerHandle } from './harness.ts';

/** A worker killed in the middle of a tool loop: the run goes on in another worker from where it was. */
describe('a tool loop across a worker crash', () => {
  let emulator: Emulator;
  let tools: TestToolServer;
  const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
  const redis = createRedis(process.env.REDIS_URL!);
  const workers: WorkerHandle[] = [];
  const prefix = testPrefix('tool-crash');
  const queue = createRunsQueue(redis, prefix);

  beforeAll(async () => {
    [emulator, tools] = await Promise.all([startEmulator(), startTestToolServer()]);
  });
  afterAll(async () => {
    await Promise.all(workers.map(stopWorker));
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
    redis.disconnect();
    await db.$disconnect();
    await Promise.all([emulator?.close(), tools?.close()]);
  });

  it('SIGKILL while one tool call has finished and another is in flight: the run succeeds elsewhere, no finished turn or call repeated', async () => {
    const tool = (name: string) => ({ type: 'http', name, description: name, inputSchema: { type: 'object', properties: { q: { type: 'string' } } }, url: tools.url(name) });
    const agentId = newId('agt');
    await db.agent.create({ data: { id: agentId, name: 'crasher', model: 'claude-haiku-4-5', tools: [tool('fast'), tool('slow')] } });
    const pipelineId = newId('pip');
    await db.pipeline.create({
      data: { id: pipelineId, name: 'crash', steps: { create: [{ index: 0, agentId, prompt: '{{input}} [[emulator:tool=fast {"q":"a"}]] [[emulator:tool=slow {"q":"b"}]]' }] } },
    });
    const runId = await createRun(db, { pipelineId, agentIds: [agentId] }, 'go');
    const env = workerEnv(prefix, emulator, { WEBHOOK_ALLOW_PRIVATE: 'true' });

    const held = tools.hold('slow');
    const doomed = await spawnWorker(env);
    workers.push(doomed);
    await enqueueRun(queue, { runId });
    await held;
    await waitFor(async () => (await db.runToolCall.count({ where: { runId, name: 'fast' } })) === 1, 20_000, 'the fast call to be recorded');
    const modelRequests = () => emulator.requests.filter((request) => request.path !== '/v1/messages/count_tokens').length;
    expect(modelRequests()).toBe(1);

    workers.push(await spawnWorker(env));
    doomed.kill('SIGKILL');
    await doomed.exited;
    tools.release();

    const run = await waitForRunStatus(db, runId, ['succeeded', 'failed'], 60_000);
    expect(run.status).toBe('succeeded');
    // Turn 1 was asked for once, turn 2 once; the finished call ran once, the one in flight again, with the same id.
    expect(modelRequests()).toBe(2);
    expect(tools.requests.filter((request) => request.name === 'fast')).toHaveLength(1);
    const slow = tools.requests.filter((request) => request.name === 'slow');
    expect(slow).toHaveLength(2);
    expect(slow[1]!.toolCallId).toBe(slow[0]!.toolCallId);
    expect(slow[1]!.headers['webhook-id']).toBe(slow[0]!.headers['webhook-id']);
    const turns = await db.runStepTurn.findMany({ where: { runId }, include: { toolCalls: true }, orderBy: { turn: 'asc' } });
    expect(turns.map((turn) => turn.toolCalls.length)).toEqual([2, 0]);
    expect(run.steps[0]!.inputTokens).toBe(turns.reduce((sum, turn) => sum + turn.inputTokens, 0));
  }, 120_000);
});
