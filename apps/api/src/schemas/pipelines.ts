import { z } from '@hono/zod-openapi';
import { HttpUrl, Timestamp } from './common.ts';

const Name = z.string().trim().min(1).max(200);
const MaxDurationSeconds = z.number().int().min(1).max(7 * 24 * 3600);

const StepBody = z
  .strictObject({
    agentId: z.string().min(1).max(100),
    prompt: z
      .string()
      .max(200_000)
      .optional()
      .openapi({ description: 'Template: `{{input}}` is the run input, `{{previous}}` the previous step output.' }),
  })
  .openapi('PipelineStepInput');

const Steps = z.array(StepBody).min(1).max(100);

export const CreatePipelineBody = z
  .strictObject({
    name: Name,
    steps: Steps,
    webhookUrl: HttpUrl.optional(),
    maxDurationSeconds: MaxDurationSeconds.optional(),
  })
  .openapi('CreatePipeline');

/** `steps` replaces every step; `null` clears an optional field. */
export const UpdatePipelineBody = z
  .strictObject({
    name: Name.optional(),
    steps: Steps.optional(),
    webhookUrl: HttpUrl.nullable().optional(),
    maxDurationSeconds: MaxDurationSeconds.nullable().optional(),
  })
  .openapi('UpdatePipeline');

export const PipelineSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    steps: z.array(z.object({ index: z.number().int(), agentId: z.string(), prompt: z.string().nullable() })),
    webhookUrl: z.string().nullable(),
    maxDurationSeconds: z.number().int().nullable(),
    orphaned: z.boolean().openapi({ description: 'A step names a deleted agent.' }),
    missingAgentIds: z.array(z.string()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('Pipeline');

export type CreatePipelineInput = z.output<typeof CreatePipelineBody>;
export type UpdatePipelineInput = z.output<typeof UpdatePipelineBody>;
export type PipelineJson = z.output<typeof PipelineSchema>;
