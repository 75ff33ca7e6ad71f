import { createRoute } from '@hono/zod-openapi';
import { errorResponses, IdParams, jsonBody, jsonResponse as json, optionalJsonBody, pageOf } from '../schemas/common.ts';
import { ApproveRunBody, BranchRunBody, ListRunsQuery, RejectRunBody, RunSchema, SubmitRunBody, SubmitRunHeaders } from '../schemas/runs.ts';
import { approveRun, branchRun, cancelRun, getRun, listRuns, rejectRun, submitRun } from '../services/runs.ts';
import { bearer, createRouter } from './router.ts';

const tags = ['Runs'];

export const runsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/pipelines/{id}/runs',
      tags,
      security: bearer,
      summary: 'Submit a run of a pipeline',
      description:
        'Stores the run and enqueues it. With `Idempotency-Key`, a repeated key for the same pipeline answers 200 with the first run and enqueues nothing. An orphaned pipeline is refused with 409 `pipeline_orphaned`.',
      request: { params: IdParams, headers: SubmitRunHeaders, body: jsonBody(SubmitRunBody) },
      responses: {
        202: json(RunSchema, 'The run, queued'),
        200: json(RunSchema, 'The run first submitted with this idempotency key'),
        ...errorResponses(404, 409, 413),
      },
    }),
    async (c) => {
      const { run, created } = await submitRun(c.get('deps'), c.req.valid('param').id, c.req.valid('json'), {
        idempotencyKey: c.req.valid('header')['idempotency-key'],
        requestId: c.get('requestId'),
      });
      return created ? c.json(run, 202) : c.json(run, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/runs',
      tags,
      security: bearer,
      summary: 'List runs, newest first',
      request: { query: ListRunsQuery },
      responses: { 200: json(pageOf(RunSchema, 'RunPage'), 'A page of runs'), ...errorResponses() },
    }),
    async (c) => c.json(await listRuns(c.get('deps'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/runs/{id}',
      tags,
      security: bearer,
      summary: 'Get a run with its steps, usage and cost',
      request: { params: IdParams },
      responses: { 200: json(RunSchema, 'The run'), ...errorResponses(404) },
    }),
    async (c) => c.json(await getRun(c.get('deps'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/runs/{id}/cancel',
      tags,
      security: bearer,
      summary: 'Cancel a run',
      description:
        'A queued or waiting run ends `canceled` at once. A running run is flagged and its worker aborts the step in flight; the run ends `canceled` shortly after (follow its events). An ended run is a 409, and so (very rarely) is a run that changed state at each of five tries: try again.',
      request: { params: IdParams },
      responses: { 200: json(RunSchema, 'The run'), ...errorResponses(404, 409) },
    }),
    async (c) => c.json(await cancelRun(c.get('deps'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/runs/{id}/approve',
      tags,
      security: bearer,
      summary: 'Approve the approval step a waiting run is at',
      description:
        'The run goes on with its next step (a worker takes it again). `output`, if given, replaces the output so far for the following steps. Who decided (the token’s fingerprint), when and the comment are kept on the step. A run that is not `waiting` is a 409.',
      request: { params: IdParams, body: optionalJsonBody(ApproveRunBody) },
      responses: { 200: json(RunSchema, 'The run'), ...errorResponses(404, 409, 413) },
    }),
    async (c) => c.json(await approveRun(c.get('deps'), c.req.valid('param').id, c.req.valid('json'), c.get('principal') ?? 'api'), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/runs/{id}/reject',
      tags,
      security: bearer,
      summary: 'Reject the approval step a waiting run is at',
      description: 'The run ends `failed` with `error.code: "rejected"`; the decision is kept on the step. A run that is not `waiting` is a 409.',
      request: { params: IdParams, body: optionalJsonBody(RejectRunBody) },
      responses: { 200: json(RunSchema, 'The run'), ...errorResponses(404, 409, 413) },
    }),
    async (c) => c.json(await rejectRun(c.get('deps'), c.req.valid('param').id, c.req.valid('json'), c.get('principal') ?? 'api'), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/runs/{id}/branch',
      tags,
      security: bearer,
      summary: 'Branch a run: re-run it from a step, with an edited output or other settings',
      description:
        'A new queued run of the same pipeline (as it is now) with `parentRunId` and `branchedFromStep`. Steps before `fromStep` are reused from the parent (`reused: true`, no provider call, cost "0"); with `output`, step `fromStep` is reused with that output, else it runs again; the rest runs as usual, with `overrides` applied. `409 pipeline_orphaned` only when a step that must run names a deleted agent; 409 when a step to reuse did not succeed in the parent.',
      request: { params: IdParams, body: jsonBody(BranchRunBody) },
      responses: { 202: json(RunSchema, 'The branch, as read once queued (a worker may already have started it)'), ...errorResponses(404, 409, 413) },
    }),
    async (c) => c.json(await branchRun(c.get('deps'), c.req.valid('param').id, c.req.valid('json'), c.get('requestId')), 202),
  );
