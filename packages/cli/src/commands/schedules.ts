import type { ScheduleJson } from '@conveyor/core';
import { jsonOption, parseCommand, requireOption } from '../args.ts';
import type { CommandGroup } from '../context.ts';
import { printJson } from '../context.ts';
import { UsageError } from '../errors.ts';
import { asText, table } from '../format.ts';

const path = (id: string) => `/v1/schedules/${encodeURIComponent(id)}`;

export const schedules: CommandGroup = {
  summary: 'run pipelines on a cron: list, create, enable, disable, delete',
  usage: `conveyor schedules list [--pipeline <pipelineId>] [--json]
conveyor schedules create <pipelineId> --cron "<cron>" [--timezone <IANA zone>]
                          (--input <text> | --input-json <json>) [--disabled] [--json]
                          cron: 5 fields, or 6 with seconds first
conveyor schedules show <scheduleId> [--json]     with its next fire times
conveyor schedules enable <scheduleId>; schedules disable <scheduleId>; schedules delete <scheduleId>`,
  commands: {
    async list(args, { client, stdout }) {
      const { values } = parseCommand('schedules list', args, { ...jsonOption, pipeline: { type: 'string' } });
      const data = await client.all<ScheduleJson>('/v1/schedules', { pipelineId: values.pipeline });
      if (values.json) return (printJson(stdout, data), 0);
      if (data.length === 0) return (stdout.write('no schedules\n'), 0);
      const rows = data.map((s) => [s.id, s.pipelineId, s.cron, s.timezone, s.enabled ? 'enabled' : 'disabled', s.nextRunAt ?? '-']);
      stdout.write(`${table(['ID', 'PIPELINE', 'CRON', 'TIMEZONE', 'STATUS', 'NEXT RUN'], rows)}\n`);
      return 0;
    },

    async create(args, { client, stdout }) {
      const { values, positionals } = parseCommand(
        'schedules create',
        args,
        { ...jsonOption, cron: { type: 'string' }, timezone: { type: 'string' }, input: { type: 'string' }, 'input-json': { type: 'string' }, disabled: { type: 'boolean' } },
        ['pipelineId'],
      );
      const body = {
        cron: requireOption('schedules create', values.cron, '--cron'),
        ...(values.timezone ? { timezone: values.timezone } : {}),
        input: scheduleInput(values.input, values['input-json']),
        ...(values.disabled ? { enabled: false } : {}),
      };
      const schedule = await client.post<ScheduleJson>(`/v1/pipelines/${encodeURIComponent(positionals[0]!)}/schedules`, body);
      if (values.json) return (printJson(stdout, schedule), 0);
      stdout.write(`created schedule ${schedule.id}  ${schedule.cron} (${schedule.timezone})  next run ${schedule.nextRunAt ?? '-'}\n`);
      return 0;
    },

    async show(args, { client, stdout }) {
      const { values, positionals } = parseCommand('schedules show', args, jsonOption, ['scheduleId']);
      const schedule = await client.get<ScheduleJson>(path(positionals[0]!));
      if (values.json) return (printJson(stdout, schedule), 0);
      stdout.write(`schedule ${schedule.id}  ${schedule.enabled ? 'enabled' : 'disabled'}  pipeline ${schedule.pipelineId}\n`);
      stdout.write(`cron ${schedule.cron} (${schedule.timezone})\ninput ${asText(schedule.input)}\n`);
      for (const time of schedule.nextRunTimes) stdout.write(`next ${time}\n`);
      return 0;
    },

    async enable(args, { client, stdout }) {
      const { positionals } = parseCommand('schedules enable', args, {}, ['scheduleId']);
      const schedule = await client.patch<ScheduleJson>(path(positionals[0]!), { enabled: true });
      stdout.write(`schedule ${schedule.id} enabled, next run ${schedule.nextRunAt}\n`);
      return 0;
    },

    async disable(args, { client, stdout }) {
      const { positionals } = parseCommand('schedules disable', args, {}, ['scheduleId']);
      const schedule = await client.patch<ScheduleJson>(path(positionals[0]!), { enabled: false });
      stdout.write(`schedule ${schedule.id} disabled\n`);
      return 0;
    },

    async delete(args, { client, stdout }) {
      const { positionals } = parseCommand('schedules delete', args, {}, ['scheduleId']);
      await client.delete(path(positionals[0]!));
      stdout.write(`schedule ${positionals[0]} deleted\n`);
      return 0;
    },
  },
};

function scheduleInput(text: string | undefined, json: string | undefined): unknown {
  if (text !== undefined && json !== undefined) throw new UsageError('schedules create: give --input or --input-json, not both');
  if (text !== undefined) return text;
  if (json === undefined) throw new UsageError('schedules create: --input <text> or --input-json <json> is required');
  try {
    return JSON.parse(json);
  } catch (error) {
    throw new UsageError(`schedules create: --input-json is not valid JSON: ${(error as Error).message}`);
  }
}
