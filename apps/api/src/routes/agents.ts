import { createRoute } from '@hono/zod-openapi';
import { AgentSchema, CreateAgentBody, UpdateAgentBody } from '../schemas/agents.ts';
import { errorResponses, IdParams, jsonBody, jsonResponse as json, PageQuery, pageOf } from '../schemas/common.ts';
import { createAgent, deleteAgent, getAgent, listAgents, updateAgent } from '../services/agents.ts';
import { bearer, createRouter } from './router.ts';

const tags = ['Agents'];

export const agentsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/agents',
      tags,
      security: bearer,
      summary: 'List agents, newest first',
      request: { query: PageQuery },
      responses: { 200: json(pageOf(AgentSchema, 'AgentPage'), 'A page of agents'), ...errorResponses() },
    }),
    async (c) => c.json(await listAgents(c.get('deps'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/agents',
      tags,
      security: bearer,
      summary: 'Create an agent',
      request: { body: jsonBody(CreateAgentBody) },
      responses: { 201: json(AgentSchema, 'The agent'), ...errorResponses(413) },
    }),
    async (c) => c.json(await createAgent(c.get('deps'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/agents/{id}',
      tags,
      security: bearer,
      summary: 'Get an agent',
      request: { params: IdParams },
      responses: { 200: json(AgentSchema, 'The agent'), ...errorResponses(404) },
    }),
    async (c) => c.json(await getAgent(c.get('deps'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/agents/{id}',
      tags,
      security: bearer,
      summary: 'Update an agent (every pipeline that uses it sees the change from its next run on)',
      request: { params: IdParams, body: jsonBody(UpdateAgentBody) },
      responses: { 200: json(AgentSchema, 'The agent'), ...errorResponses(404, 413) },
    }),
    async (c) => c.json(await updateAgent(c.get('deps'), c.req.valid('param').id, c.req.valid('json')), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/agents/{id}',
      tags,
      security: bearer,
      summary: 'Delete an agent (pipelines that use it become orphaned)',
      request: { params: IdParams },
      responses: { 204: { description: 'Deleted' }, ...errorResponses(404) },
    }),
    async (c) => {
      await deleteAgent(c.get('deps'), c.req.valid('param').id);
      return c.body(null, 204);
    },
  );
