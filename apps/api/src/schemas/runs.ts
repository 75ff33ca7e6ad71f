import { z } from '@hono/zod-openapi';
import { DecimalString, HttpUrl, MaxCostUsd, PageQuery, Timestamp, Usage } from './common.ts';

export const runStatuses = ['queued', 'running', 'waiting', 'succeeded', 'failed', 'canceled'] as const;
const stepStatuses = ['pending', 'running', 'waiting', 'succeeded', 'failed', 'canceled'] as const;

/** The furthest ahead a delayed run may be due. */
export const MAX_DELAY_SECONDS = 366 * 24 * 3600;

export const SubmitRunBody = z
  .strictObject({
    input: z
      .unknown()
      .refine((value) => value !== undefined && value !== null, 'input is required')
      .openapi({ description: 'Any JSON value; a step template sees it as `{{input}}`.', example: 'Summarise the news' }),
    webhookUrl: HttpUrl.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(30 * 24 * 3600)
      .optional()
      .openapi({ description: 'The run fails with `expired` if it waits in the queue longer than this (counted from `scheduledFor` for a delayed run).' }),
    runAt: z.iso
      .datetime({ offset: true })
      .refine((value) => Date.parse(value) <= Date.now() + MAX_DELAY_SECONDS * 1000, 'must be within 366 days')
      .optional()
      .openapi({
        description: 'Delays the run until this time (ISO 8601); it stays `queued` with `scheduledFor` until then. A time in the past runs at once (its `ttlSeconds` still counts from it).',
        example: '2026-12-24T18:00:00Z',
      }),
    delaySeconds: z
      .number()
      .int()
      .min(0)
      .max(MAX_DELAY_SECONDS)
      .optional()
      .openapi({ description: 'Delays the run by this many seconds (`scheduledFor` = now + delay). Not with `runAt`.' }),
    maxCostUsd: MaxCostUsd.optional().openapi({ description: "The run's budget in USD (default: the pipeline's `maxCostUsd`)." }),
  })
  .refine((body) => body.runAt === undefined || body.delaySeconds === undefined, 'give runAt or delaySeconds, not both')
  .openapi('SubmitRun');

export const SubmitRunHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(255)
    .optional()
    .openapi({ description: 'The same key with the same pipeline returns the first run.' }),
});

export const ListRunsQuery = PageQuery.extend({
  pipelineId: z.string().min(1).max(100).optional(),
  scheduleId: z.string().min(1).max(100).optional(),
  parentRunId: z.string().min(1).max(100).optional().openapi({ description: 'Only the branches of this run.' }),
  status: z.enum(runStatuses).optional(),
});

const ToolCallSchema = z
  .object({
    id: z.string().openapi({ description: "The provider's id of the call (the `toolCallId` an HTTP tool receives)." }),
    name: z.string(),
    input: z.unknown(),
    output: z.unknown().openapi({ description: 'JSON when the tool answered JSON, else its text.' }),
    isError: z.boolean(),
    durationMs: z.number().int(),
  })
  .openapi('ToolCall');

const TurnSchema = z
  .object({
    turn: z.number().int().openapi({ description: '1-based.' }),
    usage: Usage,
    cost: DecimalString.nullable(),
    timeToFirstTokenMs: z.number().int().nullable().openapi({ description: "Milliseconds from the turn's request to its first streamed token; null when unknown." }),
    toolCalls: z.array(ToolCallSchema).openapi({ description: 'The calls this turn asked for that have finished.' }),
    finishedAt: Timestamp,
  })
  .openapi('Turn');
const ApprovalDecisionSchema = z
  .object({
    decision: z.enum(['approved', 'rejected']),
    by: z.string().openapi({ description: 'Who decided: `api:<token fingerprint>`, `console:<user>`, or `timeout`.' }),
    at: Timestamp,
    comment: z.string().optional(),
    timedOut: z.boolean().optional().openapi({ description: 'The step’s `onTimeout` decided.' }),
  })
  .openapi('ApprovalDecision');

const RunStepSchema = z
  .object({
    index: z.number().int(),
    type: z.enum(['agent', 'approval']),
    agentId: z.string().nullable().openapi({ description: 'Null for an approval step.' }),
    provider: z.string().nullable(),
    model: z.string().nullable(),
    status: z.enum(stepStatuses),
    output: z.unknown().optional().openapi({ description: "The step's text, or the JSON value when its agent has an `outputSchema`." }),
    usage: Usage.extend({
      cacheReadTokens: z.number().int().openapi({ description: "Prompt tokens read from the provider's cache (billed at the cache-read rate)." }),
      cacheWriteTokens: z.number().int().openapi({ description: "Prompt tokens written to the provider's cache (billed at the cache-write rate)." }),
    }).openapi('StepUsage'),
    cost: DecimalString.nullable(),
    cacheSavings: DecimalString.nullable().openapi({
      description: 'What prompt caching saved on this step: its cost with every cached token billed as plain input, minus its cost (negative when cache writes outweighed reads).',
    }),
    warnings: z.array(z.string()),
    failedAttempts: z
      .array(z.object({ provider: z.string(), model: z.string(), kind: z.string(), message: z.string(), at: Timestamp }))
      .openapi({ description: 'Models that still failed after their retries before `model` (a fallback) answered.' }),
    calledAt: Timestamp.nullable().openapi({ description: 'When the answering model call was made: its price and its spend day.' }),
    timeToFirstTokenMs: z
      .number()
      .int()
      .nullable()
      .openapi({ description: "Milliseconds from the step's first model request to its first streamed token (text or tool-call arguments); null when unknown (a reused step, or a run that ended before it)." }),
    startedAt: Timestamp.nullable(),
    finishedAt: Timestamp.nullable(),
    turns: z
      .array(TurnSchema)
      .optional()
      .openapi({ description: 'Every model turn with its tool calls; `usage` and `cost` of the step are their sums. In `GET /v1/runs/:id` and webhooks, not in lists.' }),
    instructions: z.string().optional().openapi({ description: 'An approval step’s instructions.' }),
    decision: ApprovalDecisionSchema.optional(),
    reused: z.literal(true).optional().openapi({ description: 'Copied from the parent run by a branch: no provider call, cost "0".' }),
  })
  .openapi('RunStep');

export const RunSchema = z
  .object({
    id: z.string(),
    pipelineId: z.string(),
    status: z.enum(runStatuses),
    input: z.unknown(),
    output: z.unknown().optional(),
    error: z
      .object({
        code: z.string(),
        message: z.string(),
        step: z.number().int().optional(),
        validationErrors: z.array(z.string()).optional().openapi({ description: 'With `invalid_output`: why the answer does not match the output schema.' }),
        budget: DecimalString.optional(),
        spentSoFar: DecimalString.optional(),
        worstCase: DecimalString.optional(),
        remaining: DecimalString.optional(),
      })
      .optional()
      .openapi({ description: '`budget_exceeded` carries the budget, what was spent, the next call\'s worst case and what was left.' }),
    metadata: z.unknown().optional(),
    steps: z.array(RunStepSchema),
    usage: Usage,
    cost: DecimalString.nullable(),
    maxCostUsd: DecimalString.nullable().openapi({ description: "The run's budget in USD; null: none." }),
    cacheSavings: DecimalString.nullable().openapi({ description: "What prompt caching saved over the run's steps (USD); null when no step has a known price." }),
    artifactId: z.string().optional(),
    createdAt: Timestamp,
    scheduledFor: Timestamp.optional().openapi({ description: 'When a delayed run is (or was) due, or a scheduled run\'s fire time; `ttlSeconds` counts from it.' }),
    scheduleId: z.string().optional().openapi({ description: 'The schedule that made the run.' }),
    startedAt: Timestamp.optional(),
    finishedAt: Timestamp.optional(),
    waiting: z
      .object({ index: z.number().int(), since: Timestamp, timeoutAt: Timestamp.optional() })
      .optional()
      .openapi({ description: 'While the run waits at an approval step: which, since when, and when its timeout decides.' }),
    parentRunId: z.string().optional().openapi({ description: 'A branch: the run it was branched from.' }),
    branchedFromStep: z.number().int().optional(),
  })
  .openapi('Run');

const Comment = z.string().max(10_000).optional();

/** An approval step's edited output: text, or any JSON value (stored as JSON text). */
const EditedOutput = z
  .unknown()
  .refine((value) => value !== null, 'output may not be null')
  .optional()
  .openapi({ description: 'Replaces the output so far for the following steps (`{{previous}}`). A non-string JSON value is passed on as JSON text.' });

export const ApproveRunBody = z.strictObject({ comment: Comment, output: EditedOutput }).openapi('ApproveRun');
export const RejectRunBody = z.strictObject({ comment: Comment }).openapi('RejectRun');

export type SubmitRunInput = z.output<typeof SubmitRunBody>;
export const BranchRunBody = z
  .strictObject({
    fromStep: z.number().int().min(0).max(99).openapi({ description: 'The 0-based index of the first step that differs from the parent run.' }),
    output: EditedOutput.openapi({
      description: 'Step `fromStep`’s output: given, the step is reused with it (no provider call); else it runs again. A non-string JSON value is kept as JSON text.',
    }),
    input: z
      .unknown()
      .refine((value) => value !== null, 'input may not be null')
      .optional()
      .openapi({ description: 'The branch’s input (default: the parent’s).' }),
    overrides: z
      .record(
        z.string().regex(/^\d{1,2}$/, 'a step index'),
        z.strictObject({ model: z.string().min(1).max(200).optional(), systemPrompt: z.string().max(200_000).optional() }),
      )
      .optional()
      .openapi({ description: 'Per step index, the agent’s model or system prompt for this branch only.', example: { '2': { model: 'gpt-4o' } } }),
  })
  .openapi('BranchRun');

export type BranchRunInput = z.output<typeof BranchRunBody>;
export type ListRunsInput = z.output<typeof ListRunsQuery>;
export type ApproveRunInput = z.output<typeof ApproveRunBody>;
export type RejectRunInput = z.output<typeof RejectRunBody>;
