import { createRoute } from '@hono/zod-openapi';
import { ArtifactSchema, ArtifactVersionList, EditArtifactBody, ListArtifactsQuery } from '../schemas/artifacts.ts';
import { errorResponses, IdParams, jsonBody, jsonResponse as json, pageOf } from '../schemas/common.ts';
import { artifactVersions, editArtifact, getArtifact, listArtifacts } from '../services/artifacts.ts';
import { bearer, createRouter } from './router.ts';

const tags = ['Artifacts'];

export const artifactsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/artifacts',
      tags,
      security: bearer,
      summary: 'List artifacts, newest first',
      request: { query: ListArtifactsQuery },
      responses: { 200: json(pageOf(ArtifactSchema, 'ArtifactPage'), 'A page of artifacts'), ...errorResponses() },
    }),
    async (c) => c.json(await listArtifacts(c.get('deps'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/artifacts/{id}',
      tags,
      security: bearer,
      summary: 'Get an artifact',
      description: 'The latest version, with its `version` number.',
      request: { params: IdParams },
      responses: { 200: json(ArtifactSchema, 'The artifact'), ...errorResponses(404) },
    }),
    async (c) => c.json(await getArtifact(c.get('deps'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/artifacts/{id}',
      tags,
      security: bearer,
      summary: 'Edit an artifact: store a new version',
      description: 'Stores `data` as the next version. Version 1, written by the run, never changes; `GET /v1/artifacts/{id}/versions` lists them all.',
      request: { params: IdParams, body: jsonBody(EditArtifactBody) },
      responses: { 200: json(ArtifactSchema, 'The artifact at its new version'), ...errorResponses(404, 413) },
    }),
    async (c) => c.json(await editArtifact(c.get('deps'), c.req.valid('param').id, c.req.valid('json').data), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/artifacts/{id}/versions',
      tags,
      security: bearer,
      summary: "List an artifact's versions, oldest first, each with its data",
      request: { params: IdParams },
      responses: { 200: json(ArtifactVersionList, 'Every version'), ...errorResponses(404) },
    }),
    async (c) => c.json({ data: await artifactVersions(c.get('deps'), c.req.valid('param').id) }, 200),
  );
