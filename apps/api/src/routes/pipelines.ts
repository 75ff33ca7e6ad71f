import { createRoute } from '@hono/zod-openapi';
import { errorResponses, IdParams, jsonBody, jsonResponse as json, PageQuery, pageOf } from '../schemas/common.ts';
import { CreatePipelineBody, PipelineSchema, UpdatePipelineBody } from '../schemas/pipelines.ts';
import { createPipeline, deletePipeline, getPipeline, listPipelines, updatePipeline } from '../services/pipelines.ts';
import { bearer, createRouter } from './router.ts';

const tags = ['Pipelines'];

export const pipelinesRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/pipelines',
      tags,
      security: bearer,
      summary: 'List pipelines, newest first',
      request: { query: PageQuery },
      responses: { 200: json(pageOf(PipelineSchema, 'PipelinePage'), 'A page of pipelines'), ...errorResponses() },
    }),
    async (c) => c.json(await listPipelines(c.get('deps'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/pipelines',
      tags,
      security: bearer,
      summary: 'Create a pipeline (every step must name an existing agent)',
      request: { body: jsonBody(CreatePipelineBody) },
      responses: { 201: json(PipelineSchema, 'The pipeline'), ...errorResponses(413) },
    }),
    async (c) => c.json(await createPipeline(c.get('deps'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/pipelines/{id}',
      tags,
      security: bearer,
      summary: 'Get a pipeline, with its orphan status computed from the agents as they are now',
      request: { params: IdParams },
      responses: { 200: json(PipelineSchema, 'The pipeline'), ...errorResponses(404) },
    }),
    async (c) => c.json(await getPipeline(c.get('deps'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/pipelines/{id}',
      tags,
      security: bearer,
      summary: 'Update a pipeline (`steps` replaces every step)',
      request: { params: IdParams, body: jsonBody(UpdatePipelineBody) },
      responses: { 200: json(PipelineSchema, 'The pipeline'), ...errorResponses(404, 413) },
    }),
    async (c) => c.json(await updatePipeline(c.get('deps'), c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/pipelines/{id}',
      tags,
      security: bearer,
      summary: 'Delete a pipeline (one with runs is archived: it answers 404, its runs and artifacts stay readable)',
      request: { params: IdParams },
      responses: { 204: { description: 'Deleted or archived' }, ...errorResponses(404) },
    }),
    async (c) => {
      await deletePipeline(c.get('deps'), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
