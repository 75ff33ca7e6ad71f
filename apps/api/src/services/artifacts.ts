import { addArtifactVersion, artifactInclude, type ArtifactJson, type ArtifactVersionJson, listArtifactVersions, serializeArtifact } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { notFound } from '../errors.ts';
import { pageQuery, toPage } from '../pagination.ts';
import type { ListArtifactsInput } from '../schemas/artifacts.ts';
import type { Page } from '../schemas/common.ts';

/** Newest first, each with its latest version. */
export async function listArtifacts(deps: ApiDeps, query: ListArtifactsInput): Promise<Page<ArtifactJson>> {
  const page = pageQuery(query);
  const rows = await deps.db.artifact.findMany({
    ...page,
    where: { ...page.where, ...(query.pipelineId ? { pipelineId: query.pipelineId } : {}) },
    include: artifactInclude,
  });
  return toPage(rows, query.limit, serializeArtifact);
}

/** The artifact with its latest version's data. */
export async function getArtifact(deps: ApiDeps, id: string): Promise<ArtifactJson> {
  const artifact = await deps.db.artifact.findUnique({ where: { id }, include: artifactInclude });
  if (!artifact) throw notFound('artifact', id);
  return serializeArtifact(artifact);
}

/** Stores `data` as the next version (version 1, the run's, never changes) and returns the artifact. */
export async function editArtifact(deps: ApiDeps, id: string, data: unknown): Promise<ArtifactJson> {
  const version = await addArtifactVersion(deps.db, id, data);
  if (version === undefined) throw notFound('artifact', id);
  // As of this edit, even when another one has landed since.
  const artifact = await deps.db.artifact.findUniqueOrThrow({ where: { id }, include: { versions: { where: { version }, select: { version: true, data: true } } } });
  return serializeArtifact({ ...artifact, version });
}

/** Every version, oldest first. */
export async function artifactVersions(deps: ApiDeps, id: string): Promise<ArtifactVersionJson[]> {
  const versions = await listArtifactVersions(deps.db, id);
  if (versions.length === 0) throw notFound('artifact', id);
  return versions;
}
