import type { Database } from '../db/client.ts';
import type { SecretBox } from './secret-box.ts';
import { resealToolSecrets } from '../tools/secrets.ts';
import type { AgentTool } from '../tools/schema.ts';

export interface RotationReport {
  /** Values sealed again under the current key. */
  rotated: number;
  /** Values already sealed under the current key. */
  current: number;
  /** Values no configured key opens (left as they are), by where they are stored. */
  unreadable: string[];
}

/**
 * Seals every stored secret (provider keys, agents' MCP header values) again under the box's current key.
 * Each row is updated only if it still holds the value that was read, so a key stored
 * through the API meanwhile is never overwritten. Safe to run again; safe while the API
 * and workers run (they read old and new values alike when given the old keys).
 */
export async function rotateStoredSecrets(db: Pick<Database, 'providerCredential' | 'agent'>, box: SecretBox): Promise<RotationReport> {
  const report: RotationReport = { rotated: 0, current: 0, unreadable: [] };
  const rows = await db.providerCredential.findMany({ select: { provider: true, encryptedKey: true } });
  for (const row of rows) {
    if (!box.needsRotation(row.encryptedKey)) {
      report.current++;
      continue;
    }
    let resealed: string;
    try {
      resealed = box.reseal(row.encryptedKey);
    } catch {
      report.unreadable.push(`provider_credentials.${row.provider}`);
      continue;
    }
    const { count } = await db.providerCredential.updateMany({
      where: { provider: row.provider, encryptedKey: row.encryptedKey },
      data: { encryptedKey: resealed },
    });
    if (count === 1) report.rotated++;
  }
  await rotateAgentToolSecrets(db, box, report);
  return report;
}

/** Each agent whose MCP headers hold a value sealed under an older key; updated only if its tools did not change meanwhile. */
async function rotateAgentToolSecrets(db: Pick<Database, 'agent'>, box: SecretBox, report: RotationReport): Promise<void> {
  const agents = await db.agent.findMany({ select: { id: true, tools: true } });
  for (const agent of agents) {
    const tools = (Array.isArray(agent.tools) ? agent.tools : []) as AgentTool[];
    let resealed: { tools: AgentTool[]; changed: boolean };
    try {
      resealed = resealToolSecrets(tools, box);
    } catch {
      report.unreadable.push(`agents.${agent.id}.tools`);
      continue;
    }
    if (!resealed.changed) {
      if (tools.some((tool) => typeof tool !== 'string' && tool.type === 'mcp' && tool.headers)) report.current++;
      continue;
    }
    const { count } = await db.agent.updateMany({
      where: { id: agent.id, tools: { equals: agent.tools as object } },
      data: { tools: resealed.tools as object[] },
    });
    if (count === 1) report.rotated++;
  }
}
