import { z } from '@hono/zod-openapi';
import { HttpUrl, MaxCostUsd, Timestamp } from './common.ts';

const Name = z.string().trim().min(1).max(200);
const MaxDurationSeconds = z.number().int().min(1).max(7 * 24 * 3600);

const AgentStepBody = z
  .strictObject({
    type: z.literal('agent').optional().openapi({ description: 'The default.' }),
    agentId: z.string().min(1).max(100),
    prompt: z
      .string()
      .max(200_000)
      .optional()
      .openapi({ description: 'Template: `{{input}}` is the run input, `{{previous}}` the previous step output.' }),
  })
  .openapi('PipelineAgentStepInput');

const ApprovalStepBody = z
  .strictObject({
    type: z.literal('approval'),
    instructions: z.string().max(20_000).optional().openapi({ description: 'What the person deciding should check.' }),
    timeoutSeconds: z
      .number()
      .int()
      .min(1)
      .max(365 * 24 * 3600)
      .optional()
      .openapi({ description: 'Without a decision this long after the run started waiting, `onTimeout` decides.' }),
    onTimeout: z.enum(['reject', 'approve']).optional().openapi({ description: 'Default `reject`: the run ends failed with `rejected`.' }),
  })
  .openapi('PipelineApprovalStepInput', {
    description: 'The run waits here (`waiting`, holding no worker) until `POST /v1/runs/:id/approve` or `/reject`.',
  });

const StepBody = z.union([AgentStepBody, ApprovalStepBody]).openapi('PipelineStepInput');

const Steps = z
  .array(StepBody)
  .min(1)
  .max(100)
  .refine((steps) => steps.some((step) => step.type !== 'approval'), 'a pipeline needs at least one agent step');

export const CreatePipelineBody = z
  .strictObject({
    name: Name,
    steps: Steps,
    webhookUrl: HttpUrl.optional(),
    maxDurationSeconds: MaxDurationSeconds.optional(),
    maxCostUsd: MaxCostUsd.optional().openapi({ description: 'The default budget of its runs in USD (a run may give its own).' }),
  })
  .openapi('CreatePipeline');

/** `steps` replaces every step; `null` clears an optional field. */
export const UpdatePipelineBody = z
  .strictObject({
    name: Name.optional(),
    steps: Steps.optional(),
    webhookUrl: HttpUrl.nullable().optional(),
    maxDurationSeconds: MaxDurationSeconds.nullable().optional(),
    maxCostUsd: MaxCostUsd.nullable().optional(),
  })
  .openapi('UpdatePipeline');

export const PipelineSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    steps: z.array(
      z
        .object({
          index: z.number().int(),
          type: z.enum(['agent', 'approval']),
          agentId: z.string().nullable().openapi({ description: 'Null for an approval step.' }),
          prompt: z.string().nullable(),
          instructions: z.string().optional(),
          timeoutSeconds: z.number().int().optional(),
          onTimeout: z.enum(['reject', 'approve']).optional(),
        })
        .openapi('PipelineStep'),
    ),
    webhookUrl: z.string().nullable(),
    maxDurationSeconds: z.number().int().nullable(),
    maxCostUsd: z.string().nullable().openapi({ description: 'The default budget of its runs in USD; null: none.' }),
    orphaned: z.boolean().openapi({ description: 'A step names a deleted agent.' }),
    missingAgentIds: z.array(z.string()),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('Pipeline');

export type CreatePipelineInput = z.output<typeof CreatePipelineBody>;
export type UpdatePipelineInput = z.output<typeof UpdatePipelineBody>;
export type PipelineJson = z.output<typeof PipelineSchema>;
export type PipelineStepInput = z.output<typeof StepBody>;
