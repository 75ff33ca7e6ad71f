import { createRoute } from '@hono/zod-openapi';
import { ArtifactSchema, ListArtifactsQuery } from '../schemas/artifacts.ts';
import { errorResponses, IdParams, jsonResponse as json, pageOf } from '../schemas/common.ts';
import { getArtifact, listArtifacts } from '../services/artifacts.ts';
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
    async (c) => c.json(await listArtifacts(c.var.deps, c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/artifacts/{id}',
      tags,
      security: bearer,
      summary: 'Get an artifact',
      request: { params: IdParams },
      responses: { 200: json(ArtifactSchema, 'The artifact'), ...errorResponses(404) },
    }),
    async (c) => c.json(await getArtifact(c.var.deps, c.req.valid('param').id), 200),
  );
