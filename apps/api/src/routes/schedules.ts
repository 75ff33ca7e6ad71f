import { createRoute } from '@hono/zod-openapi';
import { errorResponses, IdParams, jsonBody, jsonResponse as json, pageOf } from '../schemas/common.ts';
import { CreateScheduleBody, ListSchedulesQuery, ScheduleSchema, UpdateScheduleBody } from '../schemas/schedules.ts';
import { createSchedule, deleteSchedule, getSchedule, listSchedules, updateSchedule } from '../services/schedules.ts';
import { bearer, createRouter } from './router.ts';

const tags = ['Schedules'];

export const schedulesRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/pipelines/{id}/schedules',
      tags,
      security: bearer,
      summary: 'Schedule runs of a pipeline on a cron',
      description:
        'Each fire time makes exactly one run (`scheduleId` on the run, `scheduledFor` its fire time), however many API and worker processes are up. A bad cron or time zone is a 400 saying why. Deleting the pipeline deletes its schedules.',
      request: { params: IdParams, body: jsonBody(CreateScheduleBody) },
      responses: { 201: json(ScheduleSchema, 'The schedule'), ...errorResponses(404, 413) },
    }),
    async (c) => c.json(await createSchedule(c.get('deps'), c.req.valid('param').id, c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/schedules',
      tags,
      security: bearer,
      summary: 'List schedules, newest first',
      request: { query: ListSchedulesQuery },
      responses: { 200: json(pageOf(ScheduleSchema, 'SchedulePage'), 'A page of schedules'), ...errorResponses() },
    }),
    async (c) => c.json(await listSchedules(c.get('deps'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/schedules/{id}',
      tags,
      security: bearer,
      summary: 'Get a schedule with its next fire times',
      request: { params: IdParams },
      responses: { 200: json(ScheduleSchema, 'The schedule'), ...errorResponses(404) },
    }),
    async (c) => c.json(await getSchedule(c.get('deps'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/schedules/{id}',
      tags,
      security: bearer,
      summary: 'Change a schedule, or enable or disable it',
      request: { params: IdParams, body: jsonBody(UpdateScheduleBody) },
      responses: { 200: json(ScheduleSchema, 'The schedule'), ...errorResponses(404, 413) },
    }),
    async (c) => c.json(await updateSchedule(c.get('deps'), c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/schedules/{id}',
      tags,
      security: bearer,
      summary: 'Delete a schedule (the runs it made stay)',
      request: { params: IdParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(404) },
    }),
    async (c) => {
      await deleteSchedule(c.get('deps'), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
