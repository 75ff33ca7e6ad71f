import type { ApiDeps } from '../context.ts';
import type { AgentJson } from '../schemas/agents.ts';
import { listAgents } from '../services/agents.ts';

/** Every agent, newest first, page by page through the agents service. */
export async function allAgents(deps: ApiDeps): Promise<AgentJson[]> {
  const agents: AgentJson[] = [];
  let cursor: string | undefined;
  do {
    const page = await listAgents(deps, { limit: 100, ...(cursor ? { cursor } : {}) });
    agents.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor);
  return agents;
}
