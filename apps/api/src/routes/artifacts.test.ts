import { newId } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const json = async (res: Response) => (await res.json()) as any;

/** An artifact as a run writes it, with its run and pipeline. */
async function runArtifact() {
  const pipelineId = newId('pip');
  const runId = newId('run');
  const artifactId = newId('art');
  await api.deps.db.pipeline.create({ data: { id: pipelineId, name: 'versions' } });
  await api.deps.db.run.create({ data: { id: runId, pipelineId, status: 'succeeded', input: 'go', output: 'first answer' } });
  const data = { output: 'first answer', input: 'go', steps: [{ index: 0, output: 'first answer' }] };
  await api.deps.db.artifact.create({
    data: {
      id: artifactId,
      runId,
      pipelineId,
      pipelineName: 'versions',
      artifactData: data,
      cost: '0.000123',
      inputTokens: 3,
      outputTokens: 4,
      models: ['claude-haiku-4-5'],
      runCreatedAt: new Date(),
      durationMs: 10,
    },
  });
  return { artifactId, pipelineId, data };
}

describe('artifact versions', () => {
  it('starts at version 1 with the data the run wrote', async () => {
    const { artifactId, data } = await runArtifact();
    expect(await json(await api.call('GET', `/v1/artifacts/${artifactId}`))).toMatchObject({ id: artifactId, version: 1, data });
    const versions = await json(await api.call('GET', `/v1/artifacts/${artifactId}/versions`));
    expect(versions.data).toEqual([{ version: 1, data, source: 'run', createdAt: expect.any(String) }]);
  });

  it('stores each PATCH as the next version; GET and lists give the latest, version 1 never changes', async () => {
    const { artifactId, pipelineId, data } = await runArtifact();
    const second = { ...data, output: 'corrected answer' };
    const res = await api.call('PATCH', `/v1/artifacts/${artifactId}`, { data: second });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ id: artifactId, version: 2, data: second, cost: '0.000123' });

    const third = { output: { score: 4, verdict: 'ok' } };
    expect(await json(await api.call('PATCH', `/v1/artifacts/${artifactId}`, { data: third }))).toMatchObject({ version: 3, data: third });
    expect(await json(await api.call('GET', `/v1/artifacts/${artifactId}`))).toMatchObject({ version: 3, data: third });
    const list = await json(await api.call('GET', `/v1/artifacts?pipelineId=${pipelineId}`));
    expect(list.data).toMatchObject([{ id: artifactId, version: 3, data: third }]);

    const versions = (await json(await api.call('GET', `/v1/artifacts/${artifactId}/versions`))).data;
    expect(versions.map((v: any) => [v.version, v.source, v.data])).toEqual([
      [1, 'run', data],
      [2, 'edit', second],
      [3, 'edit', third],
    ]);
    expect((await api.deps.db.artifact.findUniqueOrThrow({ where: { id: artifactId } })).artifactData).toEqual(data);
  });

  it('numbers concurrent edits consecutively, losing none', async () => {
    const { artifactId } = await runArtifact();
    const edits = Array.from({ length: 10 }, (_, i) => ({ output: `edit ${i}` }));
    const answers = await Promise.all(edits.map((data) => api.call('PATCH', `/v1/artifacts/${artifactId}`, { data }).then(json)));
    expect(answers.map((a) => a.version).sort((a, b) => a - b)).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    const versions = (await json(await api.call('GET', `/v1/artifacts/${artifactId}/versions`))).data;
    expect(versions.slice(1).map((v: any) => v.data.output).sort()).toEqual(edits.map((e) => e.output).sort());
  });

  it('answers 404 for an unknown artifact and 400 for a missing or null data', async () => {
    const { artifactId } = await runArtifact();
    expect((await api.call('PATCH', '/v1/artifacts/art_nope', { data: { output: 'x' } })).status).toBe(404);
    expect((await api.call('GET', '/v1/artifacts/art_nope/versions')).status).toBe(404);
    for (const body of [{}, { data: null }, { data: 'x', extra: 1 }]) {
      const res = await api.call('PATCH', `/v1/artifacts/${artifactId}`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json(res)).error.code).toBe('validation_error');
    }
    expect((await json(await api.call('GET', `/v1/artifacts/${artifactId}`))).version).toBe(1);
  });
});
