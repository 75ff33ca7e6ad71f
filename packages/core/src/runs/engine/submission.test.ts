import type { Queue } from 'bullmq';
import { afterAll, describe, expect, it } from 'vitest';
import { createDatabase, type SqlPool, sqlPool } from '../../db/client.ts';
import { newId } from '../../ids.ts';
import { createLogger } from '../../logger.ts';
import type { RunJobData } from '../../queue/names.ts';
import { createRedis } from '../../queue/connection.ts';
import { createRunsQueue } from '../../queue/runs-queue.ts';
import { writeDefaultModel } from '../../settings/default-model.ts';
import { testPrefix } from '../../../testkit/index.ts';
import { DefaultModelUnsetError, PipelineNotFoundError, PipelineOrphanedError } from './errors.ts';
import { inLockOrder, SubmissionSystem } from './submission.ts';

const db = createDatabase(process.env.DATABASE_URL!, { max: 4 });
const redis = createRedis(process.env.REDIS_URL!);
const runsQueue: Queue<RunJobData> = createRunsQueue(redis, testPrefix('submission'));
const logger = createLogger({ level: 'silent' });

afterAll(async () => {
  await runsQueue.obliterate({ force: true });
  await runsQueue.close();
  redis.disconnect();
  await db.$disconnect();
});

async function pipeline(models: string[]) {
  const agentIds = [];
  for (const model of models) agentIds.push((await db.agent.create({ data: { id: newId('agt'), name: 'a', model } })).id);
  const created = await db.pipeline.create({
    data: { id: newId('pip'), name: 'submission test', steps: { create: agentIds.map((agentId, index) => ({ index, agentId })) } },
  });
  return { pipelineId: created.id, agentIds };
}

/** The real pool, whose first insert commits and then reports the connection lost, as a network cut after COMMIT does. */
function poolLosingTheFirstCommitReply(pool: SqlPool): SqlPool {
  let cut = false;
  return new Proxy(pool, {
    get(target, property, receiver) {
      if (property !== 'query') return Reflect.get(target, property, receiver);
      return async (...args: Parameters<SqlPool['query']>) => {
        const result = await (target.query as (...a: unknown[]) => Promise<unknown>)(...args);
        const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text: string }).text;
        if (!cut && text.includes('INSERT INTO runs')) {
          cut = true;
          throw Object.assign(new Error('Connection terminated unexpectedly'), {});
        }
        return result;
      };
    },
  });
}

describe('submission', () => {
  it('answers with the run, once, when the insert committed but its reply was lost', async () => {
    const { pipelineId } = await pipeline(['claude-haiku-4-5']);
    const submission = new SubmissionSystem({ sql: poolLosingTheFirstCommitReply(sqlPool(db)), runsQueue, logger });

    const submitted = await submission.submit({ pipelineId, input: 'hello' });

    expect(submitted).toMatchObject({ created: true, steps: [{ index: 0 }] });
    expect(await db.run.count({ where: { pipelineId } })).toBe(1);
    expect(await runsQueue.getJobState(submitted.runId)).not.toBe('unknown');
  });

  it('names the earlier run for a repeated idempotency key and enqueues nothing new', async () => {
    const { pipelineId } = await pipeline(['claude-haiku-4-5']);
    const submission = new SubmissionSystem({ sql: sqlPool(db), runsQueue, logger });
    const first = await submission.submit({ pipelineId, input: 1, idempotencyKey: 'k' });
    const again = await Promise.all([1, 2, 3].map(() => submission.submit({ pipelineId, input: 2, idempotencyKey: 'k' })));
    expect(again).toEqual([1, 2, 3].map(() => ({ created: false, runId: first.runId })));
    expect(await db.run.count({ where: { pipelineId } })).toBe(1);
  });

  it('refuses a missing pipeline, an orphaned one, and one on the default model while none is set, inserting nothing', async () => {
    const submission = new SubmissionSystem({ sql: sqlPool(db), runsQueue, logger });
    await expect(submission.submit({ pipelineId: 'pip_missing', input: 'x' })).rejects.toBeInstanceOf(PipelineNotFoundError);

    const orphaned = await pipeline(['claude-haiku-4-5', 'gpt-4o']);
    await db.agent.delete({ where: { id: orphaned.agentIds[1]! } });
    const refusal = await submission.submit({ pipelineId: orphaned.pipelineId, input: 'x' }).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(PipelineOrphanedError);
    expect(refusal).toMatchObject({ missingAgentIds: [orphaned.agentIds[1]] });

    const onDefault = await pipeline(['claude-haiku-4-5', '__default__']);
    await writeDefaultModel(db, null);
    await expect(submission.submit({ pipelineId: onDefault.pipelineId, input: 'x' })).rejects.toBeInstanceOf(DefaultModelUnsetError);
    expect(await db.run.count({ where: { pipelineId: { in: [orphaned.pipelineId, onDefault.pipelineId] } } })).toBe(0);

    await writeDefaultModel(db, 'gpt-4o');
    expect(await submission.submit({ pipelineId: onDefault.pipelineId, input: 'x' })).toMatchObject({ created: true });
  });
});

describe('the lock order of a batch of new runs', () => {
  it('is the same whatever order the runs arrived in, even for keys a locale calls equal', () => {
    // '\u00E9' and 'e\u0301', 'key1' and 'key\u00AD1': distinct in Postgres's unique index, equal to `localeCompare`.
    const rows = [
      { pipelineId: 'pip_b', idempotencyKey: 'key1' },
      { pipelineId: 'pip_a', idempotencyKey: '\u00E9' },
      { pipelineId: 'pip_a', idempotencyKey: 'e\u0301' },
      { pipelineId: 'pip_b', idempotencyKey: 'key\u00AD1' },
      { pipelineId: 'pip_a', idempotencyKey: null },
    ];
    const expected = [rows[4], rows[2], rows[1], rows[0], rows[3]];
    expect(inLockOrder(rows)).toEqual(expected);
    expect(inLockOrder([...rows].reverse())).toEqual(expected);
  });
});
