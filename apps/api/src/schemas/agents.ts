import { builtinTools } from '@conveyor/core';
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
const Tools = z
  .array(z.enum(builtinTools))
  .max(builtinTools.length)
  .refine((tools) => new Set(tools).size === tools.length, 'tools must not repeat')
  .openapi({ description: 'Built-in tools by name.', uniqueItems: true });

export const CreateAgentBody = z
  .strictObject({
    name: Name,
    model: Model,
    systemPrompt: SystemPrompt.optional(),
    temperature: Temperature.optional(),
    maxTokens: MaxTokens.optional(),
    tools: Tools.optional(),
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
    tools: z.array(z.enum(builtinTools)),
    createdAt: Timestamp,
    updatedAt: Timestamp,
  })
  .openapi('Agent');

export type CreateAgentInput = z.output<typeof CreateAgentBody>;
export type UpdateAgentInput = z.output<typeof UpdateAgentBody>;
export type AgentJson = z.output<typeof AgentSchema>;
