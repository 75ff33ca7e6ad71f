import type { Database } from '../db/client.ts';
import type { SecretBox } from './secret-box.ts';

export interface RotationReport {
  /** Values sealed again under the current key. */
  rotated: number;
  /** Values already sealed under the current key. */
  current: number;
  /** Values no configured key opens (left as they are), by where they are stored. */
  unreadable: string[];
}

/**
 * Seals every stored secret (today: provider keys) again under the box's current key.
 * Each row is updated only if it still holds the value that was read, so a key stored
 * through the API meanwhile is never overwritten. Safe to run again; safe while the API
 * and workers run (they read old and new values alike when given the old keys).
 */
export async function rotateStoredSecrets(db: Pick<Database, 'providerCredential'>, box: SecretBox): Promise<RotationReport> {
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
  return report;
}
