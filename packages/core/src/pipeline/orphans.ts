import type { Database } from '../db/client.ts';

/**
 * The agent ids named by `steps` that no longer exist, in step order without
 * duplicates. Steps reference agents live, so a deleted agent orphans every
 * pipeline that names it.
 */
export async function findMissingAgentIds(db: Database, steps: readonly { agentId: string | null }[]): Promise<string[]> {
  const wanted = [...new Set(steps.flatMap((step) => (step.agentId === null ? [] : [step.agentId])))];
  if (wanted.length === 0) return [];
  const found = await db.agent.findMany({ where: { id: { in: wanted } }, select: { id: true } });
  const existing = new Set(found.map((agent) => agent.id));
  return wanted.filter((id) => !existing.has(id));
}
