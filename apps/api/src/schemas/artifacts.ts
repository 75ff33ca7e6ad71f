import { z } from '@hono/zod-openapi';
import { DecimalString, PageQuery, Timestamp, Usage } from './common.ts';

export const ListArtifactsQuery = PageQuery.extend({
  pipelineId: z.string().min(1).max(100).optional(),
});

export const ArtifactSchema = z
  .object({
    id: z.string(),
    runId: z.string(),
    pipelineId: z.string(),
    pipelineName: z.string(),
    data: z.unknown().openapi({ description: 'The final output and every step output, as of the latest version.' }),
    version: z.number().int().min(1).openapi({ description: 'The latest version: 1 is what the run wrote; each PATCH adds one.' }),
    cost: DecimalString.nullable(),
    currency: z.literal('USD').or(z.string()),
    usage: Usage,
    models: z.array(z.string()),
    createdAt: Timestamp,
    durationMs: z.number().int(),
  })
  .openapi('Artifact');

export const EditArtifactBody = z
  .strictObject({
    data: z
      .unknown()
      .refine((value) => value !== undefined && value !== null, 'data is required')
      .openapi({ description: 'The new data (any JSON value), stored as the next version.', example: { output: 'The corrected answer' } }),
  })
  .openapi('EditArtifact');

export const ArtifactVersionSchema = z
  .object({
    version: z.number().int().min(1),
    data: z.unknown(),
    source: z.enum(['run', 'edit']).openapi({ description: '`run` for version 1, `edit` for each version a PATCH added.' }),
    createdAt: Timestamp,
  })
  .openapi('ArtifactVersion');

export const ArtifactVersionList = z.object({ data: z.array(ArtifactVersionSchema) }).openapi('ArtifactVersionList');

export type ListArtifactsInput = z.output<typeof ListArtifactsQuery>;
