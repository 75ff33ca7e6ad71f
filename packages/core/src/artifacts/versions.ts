import { type Database, sqlPool } from '../db/client.ts';

/** One version of an artifact's data: 1 is what the run wrote (never changed), each edit adds the next. */
export interface ArtifactVersionJson {
  version: number;
  data: unknown;
  /** `run` for version 1, `edit` for the versions added since. */
  source: 'run' | 'edit';
  createdAt: string;
}

/**
 * Adds the next version in one statement: bumping `artifacts.version` locks the artifact's row,
 * so concurrent edits get consecutive numbers and none is lost.
 */
const addVersionSql = `
WITH bumped AS (
  UPDATE artifacts SET version = version + 1 WHERE id = $1 RETURNING id, version
)
INSERT INTO artifact_versions (artifact_id, version, data, created_at)
SELECT id, version, $2::jsonb, now() FROM bumped
RETURNING version`;

const listVersionsSql = `
SELECT 1 AS version, a.artifact_data AS data, 'run' AS source, a.created_at AS "createdAt" FROM artifacts a WHERE a.id = $1
UNION ALL
SELECT v.version, v.data, 'edit', v.created_at FROM artifact_versions v WHERE v.artifact_id = $1
ORDER BY version`;

/** Stores `data` as the artifact's next version; undefined when there is no such artifact. */
export async function addArtifactVersion(db: Database, artifactId: string, data: unknown): Promise<number | undefined> {
  const { rows } = await sqlPool(db).query<{ version: number }>(addVersionSql, [artifactId, JSON.stringify(data)]);
  return rows[0]?.version;
}

/** Every version of an artifact, oldest first; empty when there is no such artifact. */
export async function listArtifactVersions(db: Database, artifactId: string): Promise<ArtifactVersionJson[]> {
  const { rows } = await sqlPool(db).query<{ version: number; data: unknown; source: 'run' | 'edit'; createdAt: Date }>(listVersionsSql, [artifactId]);
  return rows.map((row) => ({ ...row, createdAt: row.createdAt.toISOString() }));
}
