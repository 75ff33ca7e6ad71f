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
    data: z.unknown().openapi({ description: 'The final output and every step output.' }),
    cost: DecimalString.nullable(),
    currency: z.literal('USD').or(z.string()),
    usage: Usage,
    models: z.array(z.string()),
    createdAt: Timestamp,
    durationMs: z.number().int(),
  })
  .openapi('Artifact');

export type ListArtifactsInput = z.output<typeof ListArtifactsQuery>;
