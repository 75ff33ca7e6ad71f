/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { getArtifact, listArtifacts } from '../../services/artifacts.ts';
import { ApiError } from '../../errors.ts';
import { readArtifactData } from '../artifact-data.ts';
import { EmptyState, Notice } from '../components/notice.tsx';
import { OutputActions } from '../components/output-actions.tsx';
import { OutputViewer } from '../components/output-viewer.tsx';
import { Pager } from '../components/pager.tsx';
import { asText, formatCost, formatDate, formatDuration, formatTokens } from '../format.ts';
import { guardedRouter } from '../guard.ts';
import { Layout } from '../layout.tsx';
import { notFoundOr, notFoundPage } from './errors.tsx';

export function artifactPages() {
  const app = guardedRouter();

  app.get('/', async (c) => {
    const cursor = c.req.query('cursor') || undefined;
    const pipelineId = c.req.query('pipelineId') || undefined;
    const page = await listArtifacts(c.var.deps, { limit: 20, ...(cursor ? { cursor } : {}), ...(pipelineId ? { pipelineId } : {}) }).catch(
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 400) return null;
        throw error;
      },
    );
    const artifacts = page ?? { data: [], nextCursor: null };
    return c.html(
      <Layout title="Artifacts" session={c.var.session} section="/artifacts">
        <h1>Artifacts</h1>
        {page === null && <Notice kind="error">That page link is not valid any more.</Notice>}
        {artifacts.data.length === 0 ? (
          <EmptyState>
            {cursor ? 'No older artifacts.' : 'No artifacts yet. Every run that succeeds stores one: its final output, every step output, usage and cost.'}
          </EmptyState>
        ) : (
          <table class="responsive">
            <thead>
              <tr>
                <th>Pipeline</th>
                <th>Date</th>
                <th>Models</th>
                <th>Cost</th>
                <th>Duration</th>
              </tr>
            </thead>
            <tbody>
              {artifacts.data.map((artifact) => (
                <tr data-artifact={artifact.id}>
                  <td data-label="Pipeline">
                    <a href={`/artifacts/${artifact.id}`}>{artifact.pipelineName}</a>
                  </td>
                  <td data-label="Date" class="small">
                    {formatDate(artifact.createdAt)}
                  </td>
                  <td data-label="Models" class="mono small">
                    {artifact.models.join(', ')}
                  </td>
                  <td data-label="Cost">{formatCost(artifact.cost)}</td>
                  <td data-label="Duration">{formatDuration(artifact.durationMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager base="/artifacts" cursor={cursor} nextCursor={artifacts.nextCursor} params={{ pipelineId }} />
      </Layout>,
    );
  });

  app.get('/:id', async (c) => {
    const artifact = await getArtifact(c.var.deps, c.req.param('id')).catch(notFoundOr);
    if (!artifact) return notFoundPage(c, 'Artifact', '/artifacts');
    const view = readArtifactData(artifact);
    return c.html(
      <Layout title={`Artifact · ${artifact.pipelineName}`} session={c.var.session} section="/artifacts">
        <h1>{artifact.pipelineName}</h1>
        <dl class="stats panel">
          <div>
            <dt>Cost</dt>
            <dd id="artifact-cost">{`${formatCost(artifact.cost)} ${artifact.currency}`}</dd>
          </div>
          <div>
            <dt>Tokens</dt>
            <dd>{formatTokens(artifact.usage)}</dd>
          </div>
          <div>
            <dt>Models</dt>
            <dd class="mono small">{artifact.models.join(', ')}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd>{formatDuration(artifact.durationMs)}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd class="small">{formatDate(artifact.createdAt)}</dd>
          </div>
          <div>
            <dt>Run</dt>
            <dd>
              <a class="mono small" href={`/runs/${artifact.runId}`}>
                {artifact.runId}
              </a>
            </dd>
          </div>
        </dl>
        <h2>Final output</h2>
        <div class="panel">
          <OutputViewer text={view.output} id="final-output" />
          <OutputActions target="final-output" text={view.output} filename={`${artifact.id}-output.md`} />
        </div>
        {view.input !== undefined && (
          <>
            <h2>Input</h2>
            <div class="panel">
              <pre class="wrap">{asText(view.input)}</pre>
            </div>
          </>
        )}
        <h2>Steps</h2>
        {view.steps.length === 0 && <p class="muted">This artifact records no steps.</p>}
        {view.steps.map((step) => (
          <section class="step" id={`step-${step.index}`}>
            <div class="meta">
              <strong>{`Step ${step.index + 1}`}</strong>
              <span class="mono">{[step.provider, step.model].filter(Boolean).join(' · ')}</span>
              {step.usage && <span>{formatTokens(step.usage)}</span>}
              <span class="step-cost">{formatCost(step.cost)}</span>
            </div>
            {step.warnings.map((warning) => (
              <div class="notice warn small">{warning}</div>
            ))}
            <OutputViewer text={step.output} id={`step-${step.index}-output`} />
            <OutputActions target={`step-${step.index}-output`} text={step.output} filename={`${artifact.id}-step-${step.index + 1}.md`} />
          </section>
        ))}
      </Layout>,
    );
  });

  return app;
}
