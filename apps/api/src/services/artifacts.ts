import { serializeArtifact, type ArtifactJson } from '@conveyor/core';
import type { ApiDeps } from '../context.ts';
import { notFound } from '../errors.ts';
import { pageQuery, toPage } from '../pagination.ts';
import type { ListArtifactsInput } from '../schemas/artifacts.ts';
import type { Page } from '../schemas/common.ts';

/** Newest first. */
export async function listArtifacts(deps: ApiDeps, query: ListArtifactsInput): Promise<Page<ArtifactJson>> {
  const page = pageQuery(query);
  const rows = await deps.db.artifact.findMany({
    ...page,
    where: { ...page.where, ...(query.pipelineId ? { pipelineId: query.pipelineId } : {}) },
  });
  return toPage(rows, query.limit, serializeArtifact);
}

export async function getArtifact(deps: ApiDeps, id: string): Promise<ArtifactJson> {
  const artifact = await deps.db.artifact.findUnique({ where: { id } });
  if (!artifact) throw notFound('artifact', id);
  return serializeArtifact(artifact);
}
