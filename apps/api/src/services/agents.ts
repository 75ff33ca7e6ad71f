import type { AgentModel as Agent } from '@conveyor/core';
import { newId } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { notFound } from '../errors.ts';
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
    tools: agent.tools as AgentJson['tools'],
    createdAt: agent.createdAt.toISOString(),
    updatedAt: agent.updatedAt.toISOString(),
  };
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

export async function createAgent(deps: ApiDeps, input: CreateAgentInput): Promise<AgentJson> {
  assertKnownModel(deps.registry, input.model);
  const agent = await deps.db.agent.create({
    data: {
      id: newId('agt'),
      name: input.name,
      model: input.model,
      systemPrompt: input.systemPrompt ?? null,
      temperature: input.temperature ?? null,
      maxTokens: input.maxTokens ?? null,
      tools: input.tools ?? [],
    },
  });
  return serializeAgent(agent);
}

/** Every pipeline that uses the agent sees the change from its next run on. */
export async function updateAgent(deps: ApiDeps, id: string, input: UpdateAgentInput): Promise<AgentJson> {
  if (input.model !== undefined) assertKnownModel(deps.registry, input.model);
  const [agent] = await deps.db.agent.updateManyAndReturn({ where: { id }, data: input });
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
