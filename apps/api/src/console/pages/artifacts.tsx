/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { ArtifactJson } from '@conveyor/core';
import type { Context } from 'hono';
import { artifactVersions, editArtifact, getArtifact, listArtifacts } from '../../services/artifacts.ts';
import { ApiError } from '../../errors.ts';
import { readArtifactData } from '../artifact-data.ts';
import { CsrfField } from '../components/csrf-field.tsx';
import { EmptyState, Notice } from '../components/notice.tsx';
import { OutputActions } from '../components/output-actions.tsx';
import { OutputViewer } from '../components/output-viewer.tsx';
import { Pager } from '../components/pager.tsx';
import { asText, formatCost, formatDate, formatDuration, formatTokens } from '../format.ts';
import { field, readForm } from '../forms.ts';
import { guardedRouter } from '../guard.ts';
import { Layout } from '../layout.tsx';
import { notFoundOr, notFoundPage } from './errors.tsx';

export function artifactPages() {
  const app = guardedRouter();

  app.get('/', async (c) => {
    const cursor = c.req.query('cursor') || undefined;
    const pipelineId = c.req.query('pipelineId') || undefined;
    const page = await listArtifacts(c.get('deps'), { limit: 20, ...(cursor ? { cursor } : {}), ...(pipelineId ? { pipelineId } : {}) }).catch(
      (error: unknown) => {
        if (error instanceof ApiError && error.status === 400) return null;
        throw error;
      },
    );
    const artifacts = page ?? { data: [], nextCursor: null };
    return c.html(
      <Layout title="Artifacts" session={c.get('session')} section="/artifacts">
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
    const artifact = await getArtifact(c.get('deps'), c.req.param('id')).catch(notFoundOr);
    if (!artifact) return notFoundPage(c, 'Artifact', '/artifacts');
    return artifactPage(c, artifact, { saved: c.req.query('saved') === '1' });
  });

  app.post('/:id/edit', async (c) => {
    const id = c.req.param('id');
    const artifact = await getArtifact(c.get('deps'), id).catch(notFoundOr);
    if (!artifact) return notFoundPage(c, 'Artifact', '/artifacts');
    const form = await readForm(c);
    const text = field(form, 'output');
    const asJson = field(form, 'format') === 'json';
    let output: unknown = text;
    if (asJson) {
      try {
        output = JSON.parse(text);
      } catch (error) {
        return artifactPage(c, artifact, { refused: `The output is not valid JSON: ${(error as Error).message}`, draft: { text, asJson } }, 400);
      }
    }
    const data = artifact.data && typeof artifact.data === 'object' && !Array.isArray(artifact.data) ? artifact.data : {};
    await editArtifact(c.get('deps'), id, { ...data, output });
    return c.redirect(`/artifacts/${id}?saved=1#versions`, 303);
  });

  async function artifactPage(
    c: Context,
    artifact: ArtifactJson,
    state: { saved?: boolean; refused?: string; draft?: { text: string; asJson: boolean } },
    status: 200 | 400 = 200,
  ) {
    const versions = await artifactVersions(c.get('deps'), artifact.id);
    const view = readArtifactData(artifact);
    return c.html(
      <Layout title={`Artifact · ${artifact.pipelineName}`} session={c.get('session')} section="/artifacts">
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
            <dt>Version</dt>
            <dd id="artifact-version">{artifact.version}</dd>
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
        <EditOutput
          artifact={artifact}
          csrfToken={c.get('session').csrfToken}
          text={state.draft?.text ?? view.output ?? ''}
          asJson={state.draft?.asJson ?? isJsonOutput(artifact.data)}
          {...(state.refused ? { refused: state.refused } : {})}
        />
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
        <h2 id="versions">Versions</h2>
        {state.saved && <Notice kind="ok">Saved as version {artifact.version}.</Notice>}
        <table class="responsive" id="artifact-versions">
          <thead>
            <tr>
              <th>Version</th>
              <th>By</th>
              <th>Final output</th>
              <th>Saved</th>
            </tr>
          </thead>
          <tbody>
            {[...versions].reverse().map((version) => (
              <tr data-version={version.version}>
                <td data-label="Version">{version.version}</td>
                <td data-label="By">{version.source === 'run' ? 'the run' : 'an edit'}</td>
                <td data-label="Final output">
                  <details>
                    <summary class="preview">{preview(outputOf(version.data))}</summary>
                    <pre class="wrap version-output">{outputOf(version.data)}</pre>
                  </details>
                </td>
                <td data-label="Saved" class="small muted">
                  {formatDate(version.createdAt)}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Layout>,
      status,
    );
  }

  return app;
}

/** A version's final output as text (JSON pretty-printed). */
function outputOf(data: unknown): string {
  const output = data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>).output : data;
  return output === undefined ? '' : asText(output);
}

const preview = (text: string) => (text.length > 120 ? `${text.slice(0, 119)}…` : text);

function isJsonOutput(data: unknown): boolean {
  const output = data && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>).output : undefined;
  return output !== undefined && typeof output !== 'string';
}

/** Edits the final output (as text or as JSON) into a new version of the artifact. */
function EditOutput({ artifact, csrfToken, text, asJson, refused }: { artifact: ArtifactJson; csrfToken: string; text: string; asJson: boolean; refused?: string }) {
  return (
    <details class="panel" id="edit-output" open={refused !== undefined}>
      <summary>Edit the final output</summary>
      {refused && (
        <Notice kind="error">
          <span id="edit-refused">{refused}</span>
        </Notice>
      )}
      <form method="post" action={`/artifacts/${artifact.id}/edit`} id="edit-output-form">
        <CsrfField token={csrfToken} />
        <label for="edit-output-text">Final output</label>
        <textarea id="edit-output-text" name="output" rows={10} required>
          {text}
        </textarea>
        <fieldset class="inline">
          <label>
            <input type="radio" name="format" value="text" checked={!asJson} /> Text
          </label>
          <label>
            <input type="radio" name="format" value="json" checked={asJson} id="edit-output-json" /> JSON
          </label>
        </fieldset>
        <p class="small muted">Saved as version {artifact.version + 1}; every earlier version is kept.</p>
        <div class="actions">
          <button type="submit" id="edit-output-save">
            Save as a new version
          </button>
        </div>
      </form>
    </details>
  );
}
