import { afterAll, describe, expect, it } from 'vitest';
import { newId } from '../ids.ts';
import { createDatabase, Prisma } from './client.ts';

const db = createDatabase(process.env.DATABASE_URL!);
afterAll(() => db.$disconnect());

async function pipelineWithAgent() {
  const agent = await db.agent.create({ data: { id: newId('agt'), name: 'writer', model: 'claude-sonnet-4-5' } });
  const pipeline = await db.pipeline.create({
    data: { id: newId('pip'), name: 'p', steps: { create: [{ index: 0, agentId: agent.id }] } },
  });
  return { agent, pipeline };
}

describe('data model', () => {
  it('migrations create every table', async () => {
    const rows = await db.$queryRaw<{ tablename: string }[]>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`;
    expect(rows.map((r) => r.tablename).sort()).toEqual(
      expect.arrayContaining([
        '_prisma_migrations',
        'agents',
        'artifacts',
        'pipeline_steps',
        'pipelines',
        'provider_credentials',
        'run_steps',
        'runs',
        'settings',
        'webhook_deliveries',
      ]),
    );
  });

  it('deleting an agent leaves the pipeline step naming its id', async () => {
    const { agent, pipeline } = await pipelineWithAgent();
    await db.agent.delete({ where: { id: agent.id } });
    const steps = await db.pipelineStep.findMany({ where: { pipelineId: pipeline.id } });
    expect(steps).toEqual([expect.objectContaining({ index: 0, agentId: agent.id })]);
  });

  it('an agent edit is seen through every pipeline step that names it', async () => {
    const { agent, pipeline } = await pipelineWithAgent();
    await db.agent.update({ where: { id: agent.id }, data: { model: 'gpt-4o' } });
    const [step] = await db.pipelineStep.findMany({ where: { pipelineId: pipeline.id } });
    const live = await db.agent.findUnique({ where: { id: step!.agentId! } });
    expect(live?.model).toBe('gpt-4o');
  });

  it('an idempotency key is unique per pipeline but may repeat across pipelines', async () => {
    const a = (await pipelineWithAgent()).pipeline;
    const b = (await pipelineWithAgent()).pipeline;
    const run = (pipelineId: string) =>
      db.run.create({ data: { id: newId('run'), pipelineId, input: 'x', idempotencyKey: 'same-key' } });
    await run(a.id);
    await expect(run(b.id)).resolves.toMatchObject({ idempotencyKey: 'same-key' });
    await expect(run(a.id)).rejects.toMatchObject({ code: 'P2002' });
  });

  it('a JSONB artifact and a tiny decimal cost round-trip exactly', async () => {
    const { pipeline } = await pipelineWithAgent();
    const run = await db.run.create({ data: { id: newId('run'), pipelineId: pipeline.id, input: { q: 'hi' } } });
    const data = { output: 'final ✓', steps: [{ index: 0, output: 'a', nested: { n: 1.5, list: [null, true] } }] };
    const artifact = await db.artifact.create({
      data: {
        id: newId('art'),
        runId: run.id,
        pipelineId: pipeline.id,
        pipelineName: pipeline.name,
        artifactData: data,
        cost: new Prisma.Decimal('0.000001234567'),
        inputTokens: 10,
        outputTokens: 20,
        models: ['claude-sonnet-4-5'],
        runCreatedAt: run.createdAt,
        durationMs: 1234,
      },
    });
    const read = await db.artifact.findUniqueOrThrow({ where: { id: artifact.id } });
    expect(read.artifactData).toEqual(data);
    expect(read.cost?.toFixed()).toBe('0.000001234567');
    const rows = await db.$queryRaw<{ type: string }[]>`
      SELECT pg_typeof(artifact_data)::text AS type FROM artifacts WHERE id = ${artifact.id}`;
    expect(rows).toEqual([{ type: 'jsonb' }]);
  });

  it('a run has at most one artifact', async () => {
    const { pipeline } = await pipelineWithAgent();
    const run = await db.run.create({ data: { id: newId('run'), pipelineId: pipeline.id, input: 'x' } });
    const artifact = () =>
      db.artifact.create({
        data: {
          id: newId('art'),
          runId: run.id,
          pipelineId: pipeline.id,
          pipelineName: pipeline.name,
          artifactData: {},
          inputTokens: 0,
          outputTokens: 0,
          models: [],
          runCreatedAt: run.createdAt,
          durationMs: 0,
        },
      });
    await artifact();
    await expect(artifact()).rejects.toMatchObject({ code: 'P2002' });
  });
});
