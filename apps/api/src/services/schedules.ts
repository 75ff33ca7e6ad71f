import { PipelineNotFoundError, ScheduleInvalidError, type ScheduleJson, ScheduleNotFoundError, serializeSchedule } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { notFound, validationError } from '../errors.ts';
import { pageQuery, toPage } from '../pagination.ts';
import type { Page } from '../schemas/common.ts';
import type { CreateScheduleInput, ListSchedulesInput, UpdateScheduleInput } from '../schemas/schedules.ts';

/** The schedules module's refusals as API errors. */
function asApiError(error: unknown): unknown {
  if (error instanceof PipelineNotFoundError) return notFound('pipeline', error.pipelineId);
  if (error instanceof ScheduleNotFoundError) return notFound('schedule', error.scheduleId);
  if (error instanceof ScheduleInvalidError) {
    const message = `body.${error.field}: ${error.reason}`;
    return validationError(message, [{ path: ['body', error.field], message }]);
  }
  return error;
}

const rethrow = (error: unknown): never => {
  throw asApiError(error);
};

export function createSchedule(deps: ApiDeps, pipelineId: string, input: CreateScheduleInput): Promise<ScheduleJson> {
  return deps.schedules.create(pipelineId, input).catch(rethrow);
}

export function updateSchedule(deps: ApiDeps, id: string, patch: UpdateScheduleInput): Promise<ScheduleJson> {
  return deps.schedules.update(id, patch).catch(rethrow);
}

export async function deleteSchedule(deps: ApiDeps, id: string): Promise<void> {
  await deps.schedules.remove(id).catch(rethrow);
}

export async function getSchedule(deps: ApiDeps, id: string): Promise<ScheduleJson> {
  const row = await deps.db.schedule.findUnique({ where: { id } });
  if (!row) throw notFound('schedule', id);
  return serializeSchedule(row);
}

/** Newest first. */
export async function listSchedules(deps: ApiDeps, query: ListSchedulesInput): Promise<Page<ScheduleJson>> {
  const page = pageQuery(query);
  const rows = await deps.db.schedule.findMany({ ...page, where: { ...page.where, ...(query.pipelineId ? { pipelineId: query.pipelineId } : {}) } });
  const now = new Date();
  return toPage(rows, query.limit, (row) => serializeSchedule(row, now));
}
