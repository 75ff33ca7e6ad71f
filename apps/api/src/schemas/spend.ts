import { z } from '@hono/zod-openapi';
import { spendDimensions, type SpendDimension } from '@conveyor/core';
import { DecimalString, Timestamp } from './common.ts';

/** An ISO 8601 time with a date, a time and a zone (Z or ±hh:mm). */
const IsoTime = z.iso.datetime({ offset: true, message: 'must be an ISO 8601 time with a zone, e.g. 2026-12-01T00:00:00Z' });

export const SpendQuery = z
  .object({
    from: IsoTime.openapi({ description: 'Start of the range, inclusive (ISO 8601 with a zone).', example: '2026-11-01T00:00:00Z' }),
    to: IsoTime.openapi({ description: 'End of the range, exclusive (ISO 8601 with a zone).', example: '2026-12-01T00:00:00Z' }),
    groupBy: z
      .string()
      .transform((value, ctx) => {
        const parts = value.split(',').map((p) => p.trim());
        for (const part of parts) {
          if (!spendDimensions.includes(part as SpendDimension)) {
            ctx.addIssue({ code: 'custom', message: `"${part}" is not one of ${spendDimensions.join(', ')}` });
            return z.NEVER;
          }
        }
        return parts as SpendDimension[];
      })
      .openapi({
        description: 'day, pipeline, model or provider; two separated by a comma (e.g. `day,provider`) for a breakdown within each day. Days are UTC.',
        example: 'day',
      }),
  })
  .refine((q) => Date.parse(q.from) < Date.parse(q.to), { message: 'from must be before to (from is inclusive, to exclusive)', path: ['to'] });

const Totals = {
  cost: DecimalString.openapi({
    description: 'USD, exact: every model call made in the range, at its own time, provider and model. Calls whose model has no known price are not in it (see unpricedModelCalls).',
  }),
  inputTokens: z.number().int(),
  outputTokens: z.number().int(),
  cacheReadTokens: z.number().int(),
  cacheWriteTokens: z.number().int(),
  steps: z.number().int().openapi({
    description:
      'Steps counted, each once: at the time, provider and model of its answering (last) model call, when that call was made in the range (a step reused by a branch made none). The earlier turns of a tool-loop step add their cost and tokens to their own groups, not a step.',
  }),
  unpricedSteps: z.number().int().openapi({ description: 'Of those steps, the ones without any priced model call: tokens counted, cost not.' }),
  modelCalls: z.number().int().openapi({ description: 'Model calls counted: one per one-shot step, one per turn of a tool-loop step.' }),
  unpricedModelCalls: z.number().int().openapi({ description: 'Of those calls, the ones whose model had no known price: tokens counted, cost not.' }),
};

export const SpendSchema = z
  .object({
    from: Timestamp,
    to: Timestamp,
    groupBy: z.array(z.enum(spendDimensions)),
    currency: z.literal('USD'),
    total: z.object(Totals).openapi('SpendTotals'),
    groups: z.array(
      z
        .object({
          day: z.string().optional().openapi({ description: 'UTC day, YYYY-MM-DD', example: '2026-11-30' }),
          pipelineId: z.string().optional(),
          pipelineName: z.string().nullable().optional(),
          provider: z.string().nullable().optional(),
          model: z.string().nullable().optional(),
          ...Totals,
        })
        .openapi('SpendGroup'),
    ),
  })
  .openapi('Spend');

export type SpendInput = z.output<typeof SpendQuery>;
export type SpendJson = z.output<typeof SpendSchema>;
