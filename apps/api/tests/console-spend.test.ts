import { randomBytes } from 'node:crypto';
import { newId } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stackedChart } from '../src/console/spend-chart.ts';
import { createTestApi, type TestApi } from '../src/test-support.ts';
import { ADMIN, type ConsoleSession, signIn } from './console-session.ts';

describe('console Spend page', () => {
  let api: TestApi;
  let session: ConsoleSession;
  /** A provider name no other test writes, so this file finds its own bars among today's spend. */
  const provider = `spendtest${randomBytes(3).toString('hex')}`;
  let pipelineId: string;
  let stoppedRunId: string;

  beforeAll(async () => {
    api = createTestApi({ ...ADMIN });
    session = await signIn(api);
    const { db } = api.deps;
    const agent = await db.agent.create({ data: { id: newId('agt'), name: 'spend page', model: 'claude-haiku-4-5' } });
    pipelineId = (await db.pipeline.create({ data: { id: newId('pip'), name: `Spend page ${provider}` } })).id;
    const now = new Date();
    await db.run.create({
      data: {
        id: newId('run'),
        pipelineId,
        input: 'x',
        status: 'succeeded',
        cost: '9000.25',
        steps: {
          create: [
            { index: 0, agentId: agent.id, status: 'succeeded', provider, model: 'model-a', cost: '9000', inputTokens: 5, outputTokens: 6, calledAt: now, pipelineId, finishedAt: now },
            { index: 1, agentId: agent.id, status: 'succeeded', provider, model: 'model-b', cost: '0.25', inputTokens: 7, outputTokens: 8, calledAt: now, pipelineId, finishedAt: now },
          ],
        },
      },
    });
    stoppedRunId = (
      await db.run.create({
        data: { id: newId('run'), pipelineId, input: 'x', status: 'failed', cost: '0.5', error: { code: 'budget_exceeded', message: 'stopped', budget: '0.60' } },
      })
    ).id;
  });
  afterAll(() => api.close());

  it('charts cost per day stacked by provider, lists the top pipelines and the runs stopped by their budget', async () => {
    const response = await session.get('/spend?days=7&stack=provider');
    expect(response.status).toBe(200);
    const html = await response.text();
    expect(html).toContain('<svg id="spend-chart"');
    expect(html).toMatch(new RegExp(`<rect class="bar series-\\d" data-day="${new Date().toISOString().slice(0, 10)}" data-series="${provider}"[^>]*><title>[^<]*${provider}: \\$9000\\.25</title>`));
    expect(html).toMatch(new RegExp(`<tr data-pipeline="${pipelineId}">`));
    expect(html).toContain(`<tr data-run="${stoppedRunId}">`);
    expect(html).toContain('$0.60');
    // Content-Security-Policy ready: no inline styles or scripts.
    expect(html).not.toMatch(/ style="|<style|<script(?![^>]*\ssrc=)/);
  });

  it('stacks by model on request', async () => {
    const html = await (await session.get('/spend?days=30&stack=model')).text();
    expect(html).toContain(`data-series="${provider}:model-a"`);
    expect(html).toContain(`data-series="${provider}:model-b"`);
  });

  it('falls back to 30 days for a range it does not offer, and needs a session', async () => {
    const html = await (await session.get('/spend?days=12345')).text();
    expect(html).toContain('aria-current="true">Last 30 days');
    const anonymous = await api.app.request('/spend');
    expect(anonymous.status).toBe(303);
    expect(anonymous.headers.get('location')).toMatch(/^\/login/);
  });
});

describe('stacked chart layout', () => {
  it('stacks each day dearest series first, keeps empty days, and scales to a round maximum', () => {
    const chart = stackedChart(
      ['2026-12-01', '2026-12-02', '2026-12-03'],
      [
        { day: '2026-12-01', series: 'openai', cost: '0.1' },
        { day: '2026-12-01', series: 'anthropic', cost: '0.3' },
        { day: '2026-12-03', series: 'anthropic', cost: '0.15' },
      ],
      { width: 300, height: 100 },
    );
    expect(chart.max).toBe('0.5');
    expect(chart.series).toEqual([
      { name: 'anthropic', index: 0, total: '0.45' },
      { name: 'openai', index: 1, total: '0.1' },
    ]);
    expect(chart.bars.map((b) => [b.day, b.total])).toEqual([
      ['2026-12-01', '0.4'],
      ['2026-12-02', '0'],
      ['2026-12-03', '0.15'],
    ]);
    expect(chart.segments.map((s) => [s.day, s.series, s.y, s.height])).toEqual([
      ['2026-12-01', 'anthropic', 40, 60],
      ['2026-12-01', 'openai', 20, 20],
      ['2026-12-03', 'anthropic', 70, 30],
    ]);
  });
});
