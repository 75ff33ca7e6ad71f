import type { Queue } from 'bullmq';
import type { Database, Prisma, ScheduleModel } from '../db/client.ts';
import { newId } from '../ids.ts';
import type { Logger } from '../logger.ts';
import { PipelineNotFoundError, RunEngineError } from '../runs/engine/errors.ts';
import type { RunEngine } from '../runs/engine/index.ts';
import { cronProblem, nextFireTimes } from './cron.ts';
import { fireJobOptions, type ScheduleJobData } from './queue.ts';

/** How many upcoming fire times a schedule shows. */
export const NEXT_FIRE_TIMES = 5;

/** The JSON of `GET /v1/schedules/:id`. */
export interface ScheduleJson {
  id: string;
  pipelineId: string;
  cron: string;
  timezone: string;
  input: unknown;
  metadata?: unknown;
  enabled: boolean;
  /** The next fire time; null while disabled. */
  nextRunAt: string | null;
  /** The next few fire times (empty while disabled). */
  nextRunTimes: string[];
  createdAt: string;
  updatedAt: string;
}

export interface ScheduleInput {
  cron: string;
  timezone?: string | undefined;
  input: unknown;
  metadata?: Record<string, unknown> | undefined;
  enabled?: boolean | undefined;
}

export type SchedulePatch = Partial<ScheduleInput>;

export class ScheduleNotFoundError extends RunEngineError {
  override name = 'ScheduleNotFoundError';
  constructor(readonly scheduleId: string) {
    super(`schedule ${scheduleId} not found`);
  }
}

/** A cron or time zone that cannot be used. */
export class ScheduleInvalidError extends RunEngineError {
  override name = 'ScheduleInvalidError';
  constructor(
    readonly field: 'cron' | 'timezone',
    readonly reason: string,
  ) {
    super(`${field} ${reason}`);
  }
}

export function serializeSchedule(row: ScheduleModel, now = new Date()): ScheduleJson {
  const next = row.enabled ? nextFireTimes(row.cron, row.timezone, NEXT_FIRE_TIMES, now).map((date) => date.toISOString()) : [];
  return {
    id: row.id,
    pipelineId: row.pipelineId,
    cron: row.cron,
    timezone: row.timezone,
    input: row.input,
    ...(row.metadata === null ? {} : { metadata: row.metadata }),
    enabled: row.enabled,
    nextRunAt: next[0] ?? null,
    nextRunTimes: next,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export interface SchedulesDeps {
  db: Database;
  queue: Queue<ScheduleJobData>;
  logger: Logger;
  /** Needed to fire (workers); the API only manages schedules. */
  engine?: RunEngine;
}

export type FireOutcome = { status: 'created' | 'existed'; runId: string } | { status: 'skipped'; reason: string };

/**
 * Schedules: Postgres holds them (the source of truth); each enabled one is a BullMQ job
 * scheduler with the same id, which makes one job per fire time however many processes run
 * (its job id is the scheduler id plus the fire time). A fire submits a run through the run
 * engine with the idempotency key `schedule:<id>:<fire time>`, so a fire handled twice still
 * makes one run. Redis is brought back in line with Postgres after every change and by `reconcile`.
 */
export class Schedules {
  constructor(private readonly deps: SchedulesDeps) {}

  async create(pipelineId: string, input: ScheduleInput): Promise<ScheduleJson> {
    const timezone = input.timezone ?? 'UTC';
    assertUsable(input.cron, timezone);
    const pipeline = await this.deps.db.pipeline.findFirst({ where: { id: pipelineId, archivedAt: null }, select: { id: true } });
    if (!pipeline) throw new PipelineNotFoundError(pipelineId);
    const row = await this.deps.db.schedule.create({
      data: {
        id: newId('sch'),
        pipelineId,
        cron: input.cron.trim(),
        timezone,
        input: input.input as Prisma.InputJsonValue,
        ...(input.metadata === undefined ? {} : { metadata: input.metadata as Prisma.InputJsonValue }),
        enabled: input.enabled ?? true,
      },
    });
    await this.#sync(row.id);
    return serializeSchedule(row);
  }

  async update(id: string, patch: SchedulePatch): Promise<ScheduleJson> {
    const current = await this.deps.db.schedule.findUnique({ where: { id } });
    if (!current) throw new ScheduleNotFoundError(id);
    assertUsable(patch.cron ?? current.cron, patch.timezone ?? current.timezone);
    const row = await this.deps.db.schedule
      .update({
        where: { id },
        data: {
          ...(patch.cron === undefined ? {} : { cron: patch.cron.trim() }),
          ...(patch.timezone === undefined ? {} : { timezone: patch.timezone }),
          ...(patch.input === undefined ? {} : { input: patch.input as Prisma.InputJsonValue }),
          ...(patch.metadata === undefined ? {} : { metadata: patch.metadata as Prisma.InputJsonValue }),
          ...(patch.enabled === undefined ? {} : { enabled: patch.enabled }),
        },
      })
      .catch((error: unknown) => {
        if ((error as { code?: string }).code === 'P2025') throw new ScheduleNotFoundError(id);
        throw error;
      });
    await this.#sync(id);
    return serializeSchedule(row);
  }

  async remove(id: string): Promise<void> {
    const { count } = await this.deps.db.schedule.deleteMany({ where: { id } });
    if (count === 0) throw new ScheduleNotFoundError(id);
    await this.#unschedule(id);
  }

  /** A deleted (or archived) pipeline's schedules go with it. */
  async removeForPipeline(pipelineId: string): Promise<number> {
    const rows = await this.deps.db.schedule.findMany({ where: { pipelineId }, select: { id: true } });
    if (rows.length === 0) return 0;
    await this.deps.db.schedule.deleteMany({ where: { id: { in: rows.map((row) => row.id) } } });
    for (const row of rows) await this.#unschedule(row.id);
    return rows.length;
  }

  /** One fire of a schedule: submits its run for `fireTime`, once however often it is called. */
  async fire(scheduleId: string, fireTime: Date): Promise<FireOutcome> {
    const engine = this.deps.engine;
    if (!engine) throw new Error('these Schedules were built without a run engine: they cannot fire');
    const schedule = await this.deps.db.schedule.findUnique({ where: { id: scheduleId } });
    if (!schedule) {
      await this.#unschedule(scheduleId);
      return { status: 'skipped', reason: 'the schedule was deleted' };
    }
    if (!schedule.enabled) return { status: 'skipped', reason: 'the schedule is disabled' };
    try {
      const submitted = await engine.submit({
        pipelineId: schedule.pipelineId,
        input: schedule.input,
        metadata: (schedule.metadata ?? undefined) as Record<string, unknown> | undefined,
        scheduledFor: fireTime,
        scheduleId,
        idempotencyKey: `schedule:${scheduleId}:${fireTime.toISOString()}`,
      });
      return { status: submitted.created ? 'created' : 'existed', runId: submitted.runId };
    } catch (error) {
      if (error instanceof PipelineNotFoundError) {
        await this.removeForPipeline(schedule.pipelineId);
        return { status: 'skipped', reason: 'the pipeline was deleted: its schedules are removed' };
      }
      if (error instanceof RunEngineError) {
        // Orphaned, or on the default model while none is set: this fire makes no run; later ones may.
        this.deps.logger.warn({ scheduleId, fireTime, err: error }, 'a schedule fired but its run was refused');
        return { status: 'skipped', reason: error.message };
      }
      throw error;
    }
  }

  /**
   * Makes Redis match Postgres: a job scheduler for every enabled schedule (re-created if Redis
   * lost it or it has another cron), none for the rest.
   */
  async reconcile(): Promise<{ scheduled: number; unscheduled: number }> {
    const rows = await this.deps.db.schedule.findMany({ select: { id: true, cron: true, timezone: true, enabled: true } });
    const enabled = new Map(rows.filter((row) => row.enabled).map((row) => [row.id, row]));
    let scheduled = 0;
    let unscheduled = 0;
    for (const row of enabled.values()) {
      const current = await this.deps.queue.getJobScheduler(row.id);
      if (current && current.pattern === row.cron && (current.tz ?? 'UTC') === row.timezone) continue;
      await this.#schedule(row);
      scheduled++;
    }
    for (const scheduler of await this.deps.queue.getJobSchedulers(0, -1)) {
      const id = scheduler.id ?? scheduler.key;
      if (enabled.has(id)) continue;
      await this.deps.queue.removeJobScheduler(id);
      unscheduled++;
    }
    if (scheduled + unscheduled > 0) this.deps.logger.warn({ scheduled, unscheduled }, 'reconciler brought schedules in Redis in line with Postgres');
    return { scheduled, unscheduled };
  }

  /** Brings one schedule's job scheduler in line with its row as it is now (a failure is left to the reconciler). */
  async #sync(id: string): Promise<void> {
    try {
      const row = await this.deps.db.schedule.findUnique({ where: { id }, select: { id: true, cron: true, timezone: true, enabled: true } });
      if (row?.enabled) await this.#schedule(row);
      else await this.deps.queue.removeJobScheduler(id);
    } catch (error) {
      this.deps.logger.warn({ scheduleId: id, err: error }, 'could not update the schedule in Redis; the reconciler will');
    }
  }

  async #schedule(row: { id: string; cron: string; timezone: string }): Promise<void> {
    await this.deps.queue.upsertJobScheduler(
      row.id,
      { pattern: row.cron, tz: row.timezone },
      { name: 'fire', data: { scheduleId: row.id }, opts: { ...fireJobOptions, attempts: 3, backoff: { type: 'exponential', delay: 1000 } } },
    );
  }

  async #unschedule(id: string): Promise<void> {
    await this.deps.queue.removeJobScheduler(id).catch((error: unknown) => {
      this.deps.logger.warn({ scheduleId: id, err: error }, 'could not remove the schedule from Redis; the reconciler will');
    });
  }
}

function assertUsable(cron: string, timezone: string): void {
  const problem = cronProblem(cron, timezone);
  if (problem) throw new ScheduleInvalidError(problem.field, problem.message);
}
