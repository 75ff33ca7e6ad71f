import { z } from '@hono/zod-openapi';
import { PageQuery, Timestamp } from './common.ts';

const Cron = z
  .string()
  .min(1)
  .max(200)
  .openapi({ description: 'A cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first.', example: '0 9 * * 1-5' });
const TimeZone = z.string().min(1).max(100).openapi({ description: 'The IANA time zone the cron is read in (default `UTC`).', example: 'Europe/Paris' });
const RunInput = z
  .unknown()
  .refine((value) => value !== undefined && value !== null, 'input is required')
  .openapi({ description: 'The input of every run it makes.', example: 'Summarise yesterday' });
const Metadata = z.record(z.string(), z.unknown());

export const CreateScheduleBody = z
  .strictObject({
    cron: Cron,
    timezone: TimeZone.optional(),
    input: RunInput,
    metadata: Metadata.optional().openapi({ description: 'The metadata of every run it makes.' }),
    enabled: z.boolean().optional().openapi({ description: 'Default true.' }),
  })
  .openapi('CreateSchedule');

export const UpdateScheduleBody = z
  .strictObject({
    cron: Cron.optional(),
    timezone: TimeZone.optional(),
    input: RunInput.optional(),
    metadata: Metadata.optional(),
    enabled: z.boolean().optional(),
  })
  .openapi('UpdateSchedule');

export const ListSchedulesQuery = PageQuery.extend({
  pipelineId: z.string().min(1).max(100).optional(),
});

export const ScheduleSchema = z
  .object({
    id: z.string(),
    pipelineId: z.string(),
    cron: z.string(),
    timezone: z.string(),
    input: z.unknown(),
    metadata: z.unknown().optional(),
    enabled: z.boolean(),
    nextRunAt: Timestamp.nullable().openapi({ description: 'The next fire time; null while disabled.' }),
    nextRunTimes: z.array(Timestamp).openapi({ description: 'The next few fire times (empty while disabled).' }),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('Schedule');

export type CreateScheduleInput = z.output<typeof CreateScheduleBody>;
export type UpdateScheduleInput = z.output<typeof UpdateScheduleBody>;
export type ListSchedulesInput = z.output<typeof ListSchedulesQuery>;
