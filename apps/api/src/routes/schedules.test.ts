import { createSchedulesQueue, Schedules } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createTestApi } from '../test-support.ts';

const api = createTestApi();
const queue = createSchedulesQueue(api.deps.redis, api.deps.config.REDIS_PREFIX);
afterAll(async () => {
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  await api.close();
});

const json = async (res: Response) => (await res.json()) as any;

async function newPipeline() {
  const agent = await json(await api.call('POST', '/v1/agents', { name: 'a', model: 'claude-haiku-4-5' }));
  return json(await api.call('POST', '/v1/pipelines', { name: 'scheduled', steps: [{ agentId: agent.id }] }));
}

describe('schedules', () => {
  it('creates a schedule (201) with its next fire times in its time zone, as a BullMQ job scheduler', async () => {
    const pipeline = await newPipeline();
    const res = await api.call('POST', `/v1/pipelines/${pipeline.id}/schedules`, { cron: '30 9 * * *', timezone: 'Europe/Paris', input: 'daily', metadata: { team: 'a' } });
    expect(res.status).toBe(201);
    const schedule = await json(res);
    expect(schedule).toMatchObject({ pipelineId: pipeline.id, cron: '30 9 * * *', timezone: 'Europe/Paris', input: 'daily', metadata: { team: 'a' }, enabled: true });
    expect(schedule.id).toMatch(/^sch_/);
    expect(schedule.nextRunTimes).toHaveLength(5);
    expect(schedule.nextRunAt).toBe(schedule.nextRunTimes[0]);
    // 09:30 in Paris is 08:30 UTC in winter.
    for (const time of schedule.nextRunTimes) expect(time).toMatch(/T08:30:00\.000Z$/);

    const scheduler = await queue.getJobScheduler(schedule.id);
    expect(scheduler).toMatchObject({ pattern: '30 9 * * *', tz: 'Europe/Paris' });
    expect(await json(await api.call('GET', `/v1/schedules/${schedule.id}`))).toMatchObject({ id: schedule.id, nextRunAt: schedule.nextRunAt });
    const list = await json(await api.call('GET', `/v1/schedules?pipelineId=${pipeline.id}`));
    expect(list.data.map((s: any) => s.id)).toEqual([schedule.id]);
  });

  it('takes 6 fields with seconds first', async () => {
    const pipeline = await newPipeline();
    const schedule = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/schedules`, { cron: '*/2 * * * * *', input: 'x', enabled: false }));
    expect(schedule).toMatchObject({ timezone: 'UTC', enabled: false, nextRunAt: null, nextRunTimes: [] });
    const enabled = await json(await api.call('PATCH', `/v1/schedules/${schedule.id}`, { enabled: true }));
    const times = enabled.nextRunTimes.map((t: string) => Date.parse(t));
    expect(times[1] - times[0]).toBe(2000);
  });

  it('refuses a bad cron or time zone with 400 saying why, and an unknown pipeline with 404', async () => {
    const pipeline = await newPipeline();
    const cases = [
      { body: { cron: '* * * *', input: 'x' }, says: 'body.cron: needs 5 fields' },
      { body: { cron: '* * * * * * *', input: 'x' }, says: 'body.cron: needs 5 fields' },
      { body: { cron: '61 * * * *', input: 'x' }, says: 'body.cron: is not a cron expression' },
      { body: { cron: '0 0 31 2 *', input: 'x' }, says: 'body.cron' },
      { body: { cron: '* * * * *', timezone: 'Mars/Olympus', input: 'x' }, says: 'body.timezone: unknown time zone "Mars/Olympus"' },
      { body: { cron: '* * * * *' }, says: 'body.input' },
    ];
    for (const { body, says } of cases) {
      const res = await api.call('POST', `/v1/pipelines/${pipeline.id}/schedules`, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json(res)).error.message).toContain(says);
    }
    expect((await api.call('POST', '/v1/pipelines/pip_nope/schedules', { cron: '* * * * *', input: 'x' })).status).toBe(404);
    expect(await api.deps.db.schedule.count({ where: { pipelineId: pipeline.id } })).toBe(0);
  });

  it('changes, disables, enables and deletes a schedule, keeping Redis in line', async () => {
    const pipeline = await newPipeline();
    const { id } = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/schedules`, { cron: '0 * * * *', input: 'x' }));
    expect(await json(await api.call('PATCH', `/v1/schedules/${id}`, { cron: '15 * * * *', input: 'y' }))).toMatchObject({ cron: '15 * * * *', input: 'y' });
    expect(await queue.getJobScheduler(id)).toMatchObject({ pattern: '15 * * * *' });
    expect((await api.call('PATCH', `/v1/schedules/${id}`, { timezone: 'Nowhere/Special' })).status).toBe(400);

    await api.call('PATCH', `/v1/schedules/${id}`, { enabled: false });
    expect(await queue.getJobScheduler(id)).toBeUndefined();
    await api.call('PATCH', `/v1/schedules/${id}`, { enabled: true });
    expect(await queue.getJobScheduler(id)).toMatchObject({ pattern: '15 * * * *' });

    expect((await api.call('DELETE', `/v1/schedules/${id}`)).status).toBe(204);
    expect(await queue.getJobScheduler(id)).toBeUndefined();
    expect((await api.call('GET', `/v1/schedules/${id}`)).status).toBe(404);
    expect((await api.call('DELETE', `/v1/schedules/${id}`)).status).toBe(404);
    expect((await api.call('PATCH', `/v1/schedules/${id}`, { enabled: true })).status).toBe(404);
  });

  it('a fire makes one run for its fire time, with scheduleId and scheduledFor, however often it is handled', async () => {
    const pipeline = await newPipeline();
    const schedule = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/schedules`, { cron: '0 * * * *', input: 'hourly', metadata: { k: 1 } }));
    const fireTime = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000);
    const outcomes = await Promise.all([1, 2, 3].map(() => api.deps.schedules.fire(schedule.id, fireTime)));
    expect(outcomes.filter((o) => o.status === 'created')).toHaveLength(1);
    const runs = await json(await api.call('GET', `/v1/runs?scheduleId=${schedule.id}`));
    expect(runs.data).toHaveLength(1);
    expect(runs.data[0]).toMatchObject({ pipelineId: pipeline.id, scheduleId: schedule.id, scheduledFor: fireTime.toISOString(), input: 'hourly', metadata: { k: 1 } });
    expect(await api.deps.runsQueue.getJobState(runs.data[0].id)).toBe('waiting');
  });

  it('deleting the pipeline deletes its schedules; a fire of a schedule of a deleted pipeline makes no run', async () => {
    const pipeline = await newPipeline();
    const { id } = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/schedules`, { cron: '0 * * * *', input: 'x' }));
    await api.deps.schedules.fire(id, new Date('2026-12-05T10:00:00.000Z'));
    expect((await api.call('DELETE', `/v1/pipelines/${pipeline.id}`)).status).toBe(204);
    expect((await api.call('GET', `/v1/schedules/${id}`)).status).toBe(404);
    expect(await queue.getJobScheduler(id)).toBeUndefined();
    expect(await api.deps.schedules.fire(id, new Date('2026-12-05T11:00:00.000Z'))).toMatchObject({ status: 'skipped' });
    expect(await api.deps.db.run.count({ where: { scheduleId: id } })).toBe(1);
  });

  it('reconcile re-creates the job schedulers Redis lost and removes strays', async () => {
    const pipeline = await newPipeline();
    const { id } = await json(await api.call('POST', `/v1/pipelines/${pipeline.id}/schedules`, { cron: '*/5 * * * *', timezone: 'Asia/Tokyo', input: 'x' }));
    await queue.removeJobScheduler(id);
    await queue.upsertJobScheduler('sch_stray', { pattern: '* * * * *' }, { name: 'fire', data: { scheduleId: 'sch_stray' } });
    const schedules = new Schedules({ db: api.deps.db, queue, logger: api.deps.logger });

    const result = await schedules.reconcile();

    expect(result.scheduled).toBeGreaterThanOrEqual(1);
    expect(await queue.getJobScheduler(id)).toMatchObject({ pattern: '*/5 * * * *', tz: 'Asia/Tokyo' });
    expect(await queue.getJobScheduler('sch_stray')).toBeUndefined();
    expect(await schedules.reconcile()).toEqual({ scheduled: 0, unscheduled: 0 });
  });
});
