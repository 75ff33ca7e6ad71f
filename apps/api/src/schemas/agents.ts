import { AgentToolSchema, AgentToolsSchema, defaultMaxTurns, MaxTurnsSchema, OutputSchemaSchema } from '@conveyor/core';
import { z } from '@hono/zod-openapi';
import { Timestamp } from './common.ts';

const Name = z.string().trim().min(1).max(200);
const Model = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .openapi({ description: 'A model id (`claude-sonnet-4-5`, `gpt-4o`), `provider:model`, or `__default__`.', example: 'claude-sonnet-4-5' });
const SystemPrompt = z.string().max(200_000);
const Temperature = z.number().min(0).max(2);
const MaxTokens = z.number().int().min(1).max(1_000_000);
/** Core's AgentToolsSchema (names used twice, the same server twice), documented with `uniqueItems`. */
const Tools = z
  .array(AgentToolSchema)
  .superRefine((tools, ctx) => {
    const checked = AgentToolsSchema.safeParse(tools);
    if (!checked.success) for (const issue of checked.error.issues) ctx.addIssue({ code: 'custom', path: issue.path as (string | number)[], message: issue.message });
  })
  .openapi({
    uniqueItems: true,
    maxItems: 64,
    description:
      'Built-in tools by name (`web_search`, `web_fetch`), HTTP function tools `{type: "http", name, description, inputSchema, url, timeoutSeconds?}` and MCP servers `{type: "mcp", url, allowedTools?, headers?}`. MCP header values are stored encrypted and shown as `[redacted]`; sending `[redacted]` back keeps the stored value.',
  });
const OutputSchema = OutputSchemaSchema.describe(
  "JSON Schema the answer must match: the provider's structured output is used, the answer validated, one repair turn allowed; the step's output is then the JSON value.",
);
const MaxTurns = MaxTurnsSchema.describe(`Model turns a step may take when it calls tools (default ${defaultMaxTurns}); past it the step fails with \`max_turns\`.`);
const FallbackModels = z
  .array(z.string().trim().min(1).max(200))
  .max(5)
  .refine((models) => new Set(models).size === models.length, 'fallbackModels must not repeat')
  .openapi({
    description: 'Models (any provider) tried in order when `model` still fails with a transient error after its retries.',
    example: ['gpt-4o'],
  });
const CacheSystemPrompt = z.boolean().openapi({
  description: 'Mark the system prompt and tools cacheable (Anthropic: `cache_control` breakpoints); cache reads and writes are priced at their own rates.',
});

export const CreateAgentBody = z
  .strictObject({
    name: Name,
    model: Model,
    systemPrompt: SystemPrompt.optional(),
    temperature: Temperature.optional(),
    maxTokens: MaxTokens.optional(),
    tools: Tools.optional(),
    outputSchema: OutputSchema.optional(),
    maxTurns: MaxTurns.optional(),
    fallbackModels: FallbackModels.optional(),
    cacheSystemPrompt: CacheSystemPrompt.optional(),
  })
  .openapi('CreateAgent');

/** `null` clears an optional field. */
export const UpdateAgentBody = z
  .strictObject({
    name: Name.optional(),
    model: Model.optional(),
    systemPrompt: SystemPrompt.nullable().optional(),
    temperature: Temperature.nullable().optional(),
    maxTokens: MaxTokens.nullable().optional(),
    tools: Tools.optional(),
    outputSchema: OutputSchema.nullable().optional(),
    maxTurns: MaxTurns.optional(),
    fallbackModels: FallbackModels.optional(),
    cacheSystemPrompt: CacheSystemPrompt.optional(),
  })
  .openapi('UpdateAgent');

export const AgentSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    model: z.string(),
    systemPrompt: z.string().nullable(),
    temperature: z.number().nullable(),
    maxTokens: z.number().int().nullable(),
    tools: z.array(AgentToolSchema).describe('As given, with every MCP header value shown as `[redacted]`.'),
    outputSchema: z.record(z.string(), z.unknown()).nullable(),
    maxTurns: z.number().int(),
    fallbackModels: z.array(z.string()),
    cacheSystemPrompt: z.boolean(),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('Agent');

export type CreateAgentInput = z.output<typeof CreateAgentBody>;
export type UpdateAgentInput = z.output<typeof UpdateAgentBody>;
export type AgentJson = z.output<typeof AgentSchema>;
