import { Prisma } from '@conveyor/core';
import { newId } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi } from './test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const json = async (res: Response) => (await res.json()) as any;
let pipelineId = '';
const seeded: string[] = [];

beforeAll(async () => {
  const agent = await json(await api.call('POST', '/v1/agents', { name: 'a', model: 'gpt-4o' }));
  pipelineId = (await json(await api.call('POST', '/v1/pipelines', { name: 'paged', steps: [{ agentId: agent.id }] }))).id;
  // 45 runs over 5 timestamps: many share a createdAt, so the id must break ties.
  const base = Date.now() - 60_000;
  const rows = Array.from({ length: 45 }, (_, i) => ({
    id: newId('run'),
    pipelineId,
    input: i,
    status: 'succeeded' as const,
    createdAt: new Date(base + (i % 5) * 1000),
  }));
  await api.deps.db.run.createMany({ data: rows });
  seeded.push(...rows.map((r) => r.id));
});

async function collectPages(path: string, limit: number, duringEachPage: () => Promise<unknown>) {
  const pages: any[][] = [];
  let cursor: string | null = null;
  do {
    const page: any = await json(await api.call('GET', `${path}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`));
    pages.push(page.data);
    cursor = page.nextCursor;
    await duringEachPage();
  } while (cursor);
  return pages;
}

describe('cursor pagination', () => {
  it('returns every run exactly once across pages while new runs are being added', async () => {
    const added: string[] = [];
    const submit = async () => {
      const results = await Promise.all(
        [1, 2, 3].map(() => api.call('POST', `/v1/pipelines/${pipelineId}/runs`, { input: 'new' }).then(json)),
      );
      added.push(...results.map((r) => r.id));
    };
    const pages = await collectPages(`/v1/runs?pipelineId=${pipelineId}`, 7, submit);
    const seen = pages.flat().map((r) => r.id);

    expect(new Set(seen).size).toBe(seen.length);
    for (const id of seeded) expect(seen.filter((s) => s === id)).toHaveLength(1);
    // Runs added while paging sort above the first page, so no later page holds one.
    expect(seen.filter((id) => added.includes(id))).toEqual([]);
    const keys = pages.flat().map((r) => [r.createdAt, r.id]);
    const sorted = [...keys].sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? 1 : -1) : a[0] < b[0] ? 1 : -1));
    expect(keys).toEqual(sorted);
    expect(pages.at(-1)!.length).toBeLessThanOrEqual(7);

    const fresh = await json(await api.call('GET', `/v1/runs?pipelineId=${pipelineId}&limit=100`));
    expect(fresh.data.slice(0, added.length).map((r: any) => r.id).sort()).toEqual([...added].sort());
  });

  it('pages artifacts newest first, filtered by pipeline, with cost as a decimal string', async () => {
    const runs = seeded.slice(0, 12);
    const base = Date.now() - 30_000;
    await api.deps.db.artifact.createMany({
      data: runs.map((runId, i) => ({
        id: newId('art'),
        runId,
        pipelineId,
        pipelineName: 'paged',
        artifactData: { output: `out ${i}`, steps: [{ index: 0, output: `out ${i}` }] },
        cost: new Prisma.Decimal('0.000001234567'),
        inputTokens: 10,
        outputTokens: 20,
        models: ['gpt-4o'],
        runCreatedAt: new Date(base),
        durationMs: 1500,
        createdAt: new Date(base + Math.floor(i / 3) * 1000),
      })),
    });
    const pages = await collectPages(`/v1/artifacts?pipelineId=${pipelineId}`, 5, async () => undefined);
    expect(pages.map((p) => p.length)).toEqual([5, 5, 2]);
    const all = pages.flat();
    expect(new Set(all.map((a) => a.runId))).toEqual(new Set(runs));
    expect(all[0]).toMatchObject({
      pipelineId,
      pipelineName: 'paged',
      cost: '0.000001234567',
      currency: 'USD',
      usage: { inputTokens: 10, outputTokens: 20 },
      models: ['gpt-4o'],
      durationMs: 1500,
    });
    const one = await json(await api.call('GET', `/v1/artifacts/${all[0].id}`));
    expect(one).toEqual(all[0]);
    expect(Object.keys(one).sort()).toEqual(
      ['id', 'runId', 'pipelineId', 'pipelineName', 'data', 'version', 'cost', 'currency', 'usage', 'models', 'createdAt', 'durationMs'].sort(),
    );

    const run = await json(await api.call('GET', `/v1/runs/${runs[0]}`));
    expect(run.artifactId).toBe(all.find((a) => a.runId === runs[0]).id);
  });

  it('pages agents and pipelines with the same cursors', async () => {
    for (const name of ['pager one', 'pager two']) await api.call('POST', '/v1/agents', { name, model: 'claude-haiku-4-5' });
    const first = await json(await api.call('GET', '/v1/agents?limit=1'));
    expect(first.data).toHaveLength(1);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await json(await api.call('GET', `/v1/agents?limit=1&cursor=${first.nextCursor}`));
    expect(second.data[0].id).not.toBe(first.data[0].id);
    const pipelines = await json(await api.call('GET', '/v1/pipelines?limit=2'));
    expect(pipelines.data.length).toBeLessThanOrEqual(2);
  });
});
