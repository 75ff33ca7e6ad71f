import { addCosts, newId } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
afterAll(() => api.close());

const json = async (res: Response) => (await res.json()) as any;

/** This file's own day, decades before any other test's data. */
const day = new Date(Date.UTC(1995, 0, 1) + Math.floor(Math.random() * 3000) * 86_400_000);
const iso = (offsetMs: number) => new Date(day.getTime() + offsetMs).toISOString();
const costs = ['0.123456789012', '0.000000000001', '2.5'];
let pipelineId: string;

beforeAll(async () => {
  const { db } = api.deps;
  const agent = await db.agent.create({ data: { id: newId('agt'), name: 'spend route', model: 'anthropic:claude-haiku-4-5' } });
  pipelineId = (await db.pipeline.create({ data: { id: newId('pip'), name: 'spend route pipeline' } })).id;
  for (const [i, cost] of costs.entries()) {
    await db.run.create({
      data: {
        id: newId('run'),
        pipelineId,
        input: 'x',
        status: 'succeeded',
        cost,
        steps: {
          create: [{ index: 0, agentId: agent.id, status: 'succeeded', provider: i === 2 ? 'openai' : 'anthropic', model: i === 2 ? 'gpt-4o' : 'claude-haiku-4-5', cost, inputTokens: 10, outputTokens: 1, calledAt: new Date(iso(i * 3_600_000)), pipelineId, finishedAt: new Date(iso(i * 3_600_000 + 1000)) }],
        },
      },
    });
  }
});

describe('GET /v1/spend', () => {
  it('answers exact sums grouped as asked, equal to the sum of the runs\' costs', async () => {
    const res = await api.call('GET', `/v1/spend?from=${iso(0)}&to=${iso(86_400_000)}&groupBy=provider`);
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body.total).toMatchObject({ cost: addCosts(costs), inputTokens: 30, outputTokens: 3, steps: 3, unpricedSteps: 0 });
    expect(body.groups.map((g: any) => [g.provider, g.cost])).toEqual([
      ['openai', '2.50'],
      ['anthropic', '0.123456789013'],
    ]);
  });

  it('takes two dimensions for a breakdown within each day, and zoned times', async () => {
    const from = encodeURIComponent(iso(0).replace('Z', '+00:00'));
    const body = await json(await api.call('GET', `/v1/spend?from=${from}&to=${iso(86_400_000)}&groupBy=day,pipeline`));
    expect(body.groupBy).toEqual(['day', 'pipeline']);
    expect(body.groups).toEqual([expect.objectContaining({ day: iso(0).slice(0, 10), pipelineId, pipelineName: 'spend route pipeline', cost: addCosts(costs) })]);
  });

  it.each([
    ['a reversed range', `from=${iso(1000)}&to=${iso(0)}&groupBy=day`, 'from must be before to'],
    ['an empty range', `from=${iso(0)}&to=${iso(0)}&groupBy=day`, 'from must be before to'],
    ['a time without a zone', `from=2026-01-01T00:00:00&to=${iso(0)}&groupBy=day`, 'ISO 8601'],
    ['an unknown dimension', `from=${iso(0)}&to=${iso(1000)}&groupBy=week`, 'week\\" is not one of day, pipeline, model, provider'],
    ['three dimensions', `from=${iso(0)}&to=${iso(1000)}&groupBy=day,model,provider`, 'one or two'],
    ['a missing groupBy', `from=${iso(0)}&to=${iso(1000)}`, 'groupBy'],
  ])('answers 400 for %s', async (_, query, message) => {
    const res = await api.call('GET', `/v1/spend?${query}`);
    expect(res.status).toBe(400);
    const body = await json(res);
    expect(body.error.code).toBe('validation_error');
    expect(JSON.stringify(body.error)).toContain(message);
  });

  it('needs the bearer token', async () => {
    const res = await api.app.request(`/v1/spend?from=${iso(0)}&to=${iso(1000)}&groupBy=day`);
    expect(res.status).toBe(401);
  });
});
