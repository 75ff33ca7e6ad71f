import type { AgentModel as Agent, AgentTool } from '@conveyor/core';
import {
  assertToolTargets,
  DEFAULT_MODEL,
  hasToolSecrets,
  MissingToolSecretError,
  newId,
  Prisma,
  redactToolSecrets,
  sealToolSecrets,
  secretBoxOf,
  WebhookUrlError,
} from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { notFound, unavailable, validationError } from '../errors.ts';
import { pageQuery, toPage } from '../pagination.ts';
import type { AgentJson, CreateAgentInput, UpdateAgentInput } from '../schemas/agents.ts';
import type { Page, PageInput } from '../schemas/common.ts';
import { assertKnownModel } from './models-validation.ts';

export function serializeAgent(agent: Agent): AgentJson {
  return {
    id: agent.id,
    name: agent.name,
    model: agent.model,
    systemPrompt: agent.systemPrompt,
    temperature: agent.temperature === null ? null : agent.temperature.toNumber(),
    maxTokens: agent.maxTokens,
    tools: redactToolSecrets(storedTools(agent.tools)),
    outputSchema: (agent.outputSchema ?? null) as AgentJson['outputSchema'],
    maxTurns: agent.maxTurns,
    fallbackModels: agent.fallbackModels,
    cacheSystemPrompt: agent.cacheSystemPrompt,
    createdAt: agent.createdAt.toISOString(),
    updatedAt: agent.updatedAt.toISOString(),
  };
}

const storedTools = (value: unknown): AgentTool[] => (Array.isArray(value) ? (value as AgentTool[]) : []);

/**
 * The tools as stored: every URL passes the webhook address guard (a literal private or
 * loopback address is a 400 unless WEBHOOK_ALLOW_PRIVATE) and MCP header values are sealed
 * (a `[redacted]` value keeps what `stored` has for that server and header).
 */
async function toolsToStore(deps: ApiDeps, tools: AgentTool[], stored: AgentTool[] = []): Promise<AgentTool[]> {
  try {
    await assertToolTargets(tools, { allowPrivate: deps.config.WEBHOOK_ALLOW_PRIVATE });
  } catch (error) {
    if (error instanceof WebhookUrlError) throw validationError(error.message, [{ path: ['body', 'tools'], message: error.message }]);
    throw error;
  }
  const box = secretBoxOf(deps.config);
  if (!box && hasToolSecrets(tools) && tools.some((tool) => typeof tool !== 'string' && tool.type === 'mcp' && Object.values(tool.headers ?? {}).some((value) => value !== '[redacted]'))) {
    throw unavailable('ENCRYPTION_KEY is not configured, so MCP server headers cannot be stored');
  }
  try {
    return sealToolSecrets(tools, box, stored);
  } catch (error) {
    if (error instanceof MissingToolSecretError) throw validationError(error.message, [{ path: ['body', 'tools', error.index, 'headers', error.header], message: error.message }]);
    throw error;
  }
}

export async function listAgents(deps: ApiDeps, page: PageInput): Promise<Page<AgentJson>> {
  const rows = await deps.db.agent.findMany(pageQuery(page));
  return toPage(rows, page.limit, serializeAgent);
}

export async function getAgent(deps: ApiDeps, id: string): Promise<AgentJson> {
  const agent = await deps.db.agent.findUnique({ where: { id } });
  if (!agent) throw notFound('agent', id);
  return serializeAgent(agent);
}

/** Each fallback must be a model some provider serves (catalog id or provider:model); `__default__` is not a fallback. */
function assertFallbackModels(deps: ApiDeps, models: string[] | undefined): void {
  for (const [index, model] of (models ?? []).entries()) {
    if (model === DEFAULT_MODEL) throw validationError(`"${DEFAULT_MODEL}" cannot be a fallback model`, [{ path: ['fallbackModels', index], message: 'name a model' }]);
    assertKnownModel(deps.registry, model, ['fallbackModels', index]);
  }
}

export async function createAgent(deps: ApiDeps, input: CreateAgentInput): Promise<AgentJson> {
  assertKnownModel(deps.registry, input.model);
  assertFallbackModels(deps, input.fallbackModels);
  const agent = await deps.db.agent.create({
    data: {
      id: newId('agt'),
      name: input.name,
      model: input.model,
      systemPrompt: input.systemPrompt ?? null,
      temperature: input.temperature ?? null,
      maxTokens: input.maxTokens ?? null,
      tools: (await toolsToStore(deps, input.tools ?? [])) as object[],
      ...(input.outputSchema ? { outputSchema: input.outputSchema as object } : {}),
      ...(input.maxTurns !== undefined ? { maxTurns: input.maxTurns } : {}),
      fallbackModels: input.fallbackModels ?? [],
      cacheSystemPrompt: input.cacheSystemPrompt ?? false,
    },
  });
  return serializeAgent(agent);
}

/** Every pipeline that uses the agent sees the change from its next run on. */
export async function updateAgent(deps: ApiDeps, id: string, input: UpdateAgentInput): Promise<AgentJson> {
  if (input.model !== undefined) assertKnownModel(deps.registry, input.model);
  assertFallbackModels(deps, input.fallbackModels);
  const { tools, outputSchema, ...rest } = input;
  const data: Prisma.AgentUpdateManyMutationInput = { ...rest };
  if (tools !== undefined) {
    const current = await deps.db.agent.findUnique({ where: { id }, select: { tools: true } });
    if (!current) throw notFound('agent', id);
    data.tools = (await toolsToStore(deps, tools, storedTools(current.tools))) as object[];
  }
  if (outputSchema !== undefined) data.outputSchema = outputSchema === null ? Prisma.DbNull : (outputSchema as object);
  const [agent] = await deps.db.agent.updateManyAndReturn({ where: { id }, data });
  if (!agent) throw notFound('agent', id);
  return serializeAgent(agent);
}

/** Pipelines that use the agent keep naming it and report it in `missingAgentIds`. */
export async function deleteAgent(deps: ApiDeps, id: string): Promise<void> {
  const { count } = await deps.db.agent.deleteMany({ where: { id } });
  if (count === 0) throw notFound('agent', id);
}

/** The pipelines with a step that names the agent (those a delete would orphan). */
export async function pipelinesUsingAgent(deps: ApiDeps, agentId: string): Promise<{ id: string; name: string }[]> {
  return deps.db.pipeline.findMany({
    where: { steps: { some: { agentId } }, archivedAt: null },
    select: { id: true, name: true },
    orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
  });
}
