/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { RunJson, RunStepJson } from '@conveyor/core';
import type { Context } from 'hono';
import { ApiError } from '../../errors.ts';
import { ListRunsQuery, runStatuses, SubmitRunBody } from '../../schemas/runs.ts';
import { getPipeline, listPipelines } from '../../services/pipelines.ts';
import { approveRun, branchRun, cancelRun, getRun, listRuns, rejectRun, submitRun } from '../../services/runs.ts';
import { redeliverRunWebhook } from '../../services/webhook-redelivery.ts';
import { listRunWebhookDeliveries } from '../../services/webhook-deliveries.ts';
import { CsrfField } from '../components/csrf-field.tsx';
import { EmptyState, Notice } from '../components/notice.tsx';
import { OutputActions } from '../components/output-actions.tsx';
import { OutputViewer } from '../components/output-viewer.tsx';
import { WebhookDeliveries } from '../components/webhook-deliveries.tsx';
import { Pager } from '../components/pager.tsx';
import { RunForm } from '../components/run-form.tsx';
import { StatusBadge } from '../components/run-status.tsx';
import { apiErrorMessages, field, readForm } from '../forms.ts';
import { asText, durationBetween, formatCost, formatDate, formatDuration, formatSpend, formatTokens } from '../format.ts';
import { guardedRouter } from '../guard.ts';
import { Layout } from '../layout.tsx';
import { assetPath } from '../assets.ts';
import type { ConsoleEnv } from '../env.ts';
import { consoleRunEvents } from '../run-events.ts';
import { notFoundOr, notFoundPage } from './errors.tsx';

/** A cursor from an old link (or typed by hand) is a 400 from the service: show an empty page and say so. */
function staleCursorAsEmpty(error: unknown): null {
  if (error instanceof ApiError && error.status === 400) return null;
  throw error;
}

const finished = (status: RunJson['status']) => status === 'succeeded' || status === 'failed' || status === 'canceled';

const spent = (usage: RunStepJson['usage']) => usage.inputTokens > 0 || usage.outputTokens > 0;
const cached = (step: RunStepJson) => step.usage.cacheReadTokens > 0 || step.usage.cacheWriteTokens > 0;

const pretty = (value: unknown) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));

type ToolCallJson = NonNullable<RunStepJson['turns']>[number]['toolCalls'][number];

/** One tool call, collapsible: its name, state and duration, then its input and result. */
function ToolCallView({ call }: { call: ToolCallJson }) {
  return (
    <details class={`tool-call${call.isError ? ' error' : ''}`} data-tool-call-id={call.id}>
      <summary>
        <code>{call.name}</code> <span class={`badge ${call.isError ? 'failed' : 'succeeded'}`}>{call.isError ? 'error' : 'ok'}</span>{' '}
        <span class="muted small">{formatDuration(call.durationMs)}</span>
      </summary>
      <h4>Input</h4>
      <pre class="wrap tool-input">{pretty(call.input)}</pre>
      <h4>{call.isError ? 'Error' : 'Result'}</h4>
      <pre class="wrap tool-output">{pretty(call.output)}</pre>
    </details>
  );
}

/** Every model turn of a step that acts: per-turn tokens and cost, and the tool calls it asked for. The live page adds to it. */
function TurnsView({ step }: { step: RunStepJson }) {
  const id = `step-${step.index}`;
  const turns = step.turns ?? [];
  const acts = turns.length > 1 || turns.some((turn) => turn.toolCalls.length > 0);
  return (
    <div class={`turns${acts ? '' : ' empty'}`} id={`${id}-turns`}>
      {acts &&
        turns.map((turn) => (
          <details class="turn" id={`${id}-turn-${turn.turn}`} open={turn.toolCalls.length > 0}>
            <summary>
              {`Turn ${turn.turn}`} <span class="muted small turn-usage">{`${formatTokens(turn.usage)} · ${turn.cost !== null ? formatCost(turn.cost) : '—'}${turn.timeToFirstTokenMs !== null ? ` · first token ${formatDuration(turn.timeToFirstTokenMs)}` : ''}`}</span>{' '}
              <span class="muted small">{turn.toolCalls.length === 1 ? '1 tool call' : `${turn.toolCalls.length} tool calls`}</span>
            </summary>
            <div class="tool-calls">
              {turn.toolCalls.map((call) => (
                <ToolCallView call={call} />
              ))}
            </div>
          </details>
        ))}
    </div>
  );
}

/** Who decided an approval step, when, and what they said. */
function DecisionLine({ decision }: { decision: NonNullable<RunStepJson['decision']> }) {
  const who = decision.timedOut ? 'its timeout' : decision.by;
  return (
    <p class="small decision" id="decision">
      {`${decision.decision === 'approved' ? 'Approved' : 'Rejected'} by ${who}, ${formatDate(decision.at)}`}
      {decision.comment ? `: “${decision.comment}”` : ''}
    </p>
  );
}

/** "Edit and re-run from here": a branch of the run from this step, with the output as edited or the step run again. */
function RerunFromHere({ step, runId, csrfToken }: { step: RunStepJson; runId: string; csrfToken: string }) {
  return (
    <details class="rerun">
      <summary class="disclosure">Edit and re-run from here</summary>
      <form method="post" action={`/runs/${runId}/branch`} class="branch-form">
        <CsrfField token={csrfToken} />
        <input type="hidden" name="fromStep" value={String(step.index)} />
        <label for={`branch-output-${step.index}`}>{`Step ${step.index + 1}'s output`}</label>
        <textarea id={`branch-output-${step.index}`} name="output" rows={6}>
          {asText(step.output ?? '')}
        </textarea>
        <p class="hint">
          A new run reuses the steps before this one (no model call, no cost). Keep this output, as edited, and run only the steps after
          it; or run this step again.
        </p>
        <div class="actions">
          <button type="submit" name="mode" value="edited">
            Re-run after this step with this output
          </button>
          <button type="submit" class="secondary" name="mode" value="rerun">
            Re-run this step
          </button>
        </div>
      </form>
    </details>
  );
}

/** The approve / reject forms of a run waiting at `step`, the output so far editable. */
function ApprovalPanel({ run, step, csrfToken }: { run: RunJson; step: RunStepJson; csrfToken: string }) {
  return (
    <section class="panel approval-panel" id="approval-panel" data-index={step.index}>
      <h2>{`Waiting for you: step ${step.index + 1}`}</h2>
      {step.instructions && <pre class="plain instructions">{step.instructions}</pre>}
      <p class="hint">
        {`Waiting since ${formatDate(run.waiting?.since ?? step.startedAt ?? run.createdAt)}`}
        {run.waiting?.timeoutAt ? `; decided automatically at ${formatDate(run.waiting.timeoutAt)}` : ''}
      </p>
      <form method="post" action={`/runs/${run.id}/approve`} id="approve-form">
        <CsrfField token={csrfToken} />
        <label for="approval-output">Output so far (edit it to change what the next steps get)</label>
        <textarea id="approval-output" name="output" rows={8}>
          {asText(step.output ?? '')}
        </textarea>
        <label for="approval-comment">Comment (optional)</label>
        <input id="approval-comment" type="text" name="comment" maxlength={10000} />
        <div class="actions">
          <button type="submit">Approve</button>
          <button type="submit" class="danger" formaction={`/runs/${run.id}/reject`}>
            Reject
          </button>
        </div>
      </form>
    </section>
  );
}

function StepCard({ step, runId, rerun }: { step: RunStepJson; runId: string; rerun?: string | undefined }) {
  const id = `step-${step.index}`;
  const ended = step.status !== 'pending' && step.status !== 'running' && step.status !== 'waiting';
  return (
    <section class={`step${step.type === 'approval' ? ' approval' : ''}`} id={id} data-index={step.index}>
      <div class="meta">
        <strong>{`Step ${step.index + 1}`}</strong>
        <StatusBadge status={step.status} id={`${id}-status`} />
        {step.type === 'approval' && <span class="badge approval">approval</span>}
        {step.reused && <span class="badge reused" title="Copied from the parent run: no model call, no cost">reused</span>}
        <span class="mono" id={`${id}-model`}>
          {step.model ? `${step.provider ?? ''}${step.provider ? ' · ' : ''}${step.model}` : ''}
        </span>
        <span id={`${id}-duration`} title="Duration">
          {ended && step.startedAt ? formatDuration(durationBetween(step.startedAt, step.finishedAt)) : ''}
        </span>
        <span id={`${id}-ttft`} title="Time to first token">
          {step.timeToFirstTokenMs !== null ? `first token ${formatDuration(step.timeToFirstTokenMs)}` : ''}
        </span>
        <span id={`${id}-usage`}>{spent(step.usage) ? formatTokens(step.usage) : ''}</span>
        <span id={`${id}-cost`}>{step.cost !== null ? formatCost(step.cost) : ''}</span>
        {cached(step) && (
          <span id={`${id}-cache`} title="Prompt caching">
            {`cache ${step.usage.cacheReadTokens.toLocaleString('en-US')} read · ${step.usage.cacheWriteTokens.toLocaleString('en-US')} written`}
            {step.cacheSavings !== null ? ` · saved ${formatCost(step.cacheSavings)}` : ''}
          </span>
        )}
      </div>
      {step.failedAttempts.length > 0 && (
        <ul class="failed-attempts small" id={`${id}-failed-attempts`}>
          {step.failedAttempts.map((failed) => (
            <li>
              <span class="mono">{`${failed.provider} · ${failed.model}`}</span> failed ({failed.kind}): {failed.message}
            </li>
          ))}
        </ul>
      )}
      <ul class="warnings" id={`${id}-warnings`}>
        {step.warnings.map((warning) => (
          <li class="notice warn small">{warning}</li>
        ))}
      </ul>
      <TurnsView step={step} />
      {step.decision && <DecisionLine decision={step.decision} />}
      <OutputViewer text={asText(step.output)} id={`${id}-output`} />
      <OutputActions target={`${id}-output`} text={asText(step.output)} filename={`${runId}-step-${step.index + 1}.${typeof step.output === 'string' || step.output === undefined ? 'md' : 'json'}`} />
      {rerun && <RerunFromHere step={step} runId={runId} csrfToken={rerun} />}
    </section>
  );
}

/** Steps a branch can start from: those whose earlier steps all succeeded, once they have ended. */
function branchableSteps(run: RunJson): Set<number> {
  const from = new Set<number>();
  for (const step of run.steps) {
    if (step.status === 'succeeded' || step.status === 'failed' || (step.status === 'canceled' && finished(run.status))) from.add(step.index);
    if (step.status !== 'succeeded') break;
  }
  return from;
}

/** The first line of a run's input, short enough for a table cell. */
function inputPreview(input: unknown): string {
  const text = asText(input).trim().replace(/\s+/g, ' ');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

function failureReason(run: RunJson): string | null {
  if (!run.error) return null;
  const where = run.error.step !== undefined ? `step ${run.error.step + 1}: ` : '';
  return `${where}${run.error.code}: ${run.error.message}`;
}

async function pipelineNames(deps: Parameters<typeof listPipelines>[0]) {
  const page = await listPipelines(deps, { limit: 100 });
  return page.data;
}

export function runPages() {
  const app = guardedRouter();

  app.get('/', async (c) => {
    const deps = c.get('deps');
    const query = ListRunsQuery.safeParse({ ...c.req.query(), limit: 20 });
    const filters = query.success ? query.data : { limit: 20 };
    const [page, pipelines] = await Promise.all([
      listRuns(deps, filters).catch(staleCursorAsEmpty),
      pipelineNames(deps),
    ]);
    const runs = page ?? { data: [], nextCursor: null };
    const names = new Map(pipelines.map((pipeline) => [pipeline.id, pipeline.name]));
    const status = 'status' in filters ? filters.status : undefined;
    const pipelineId = 'pipelineId' in filters ? filters.pipelineId : undefined;
    const cursor = 'cursor' in filters ? filters.cursor : undefined;
    const filterLink = (value?: string) => {
      const params = new URLSearchParams();
      if (value) params.set('status', value);
      if (pipelineId) params.set('pipelineId', pipelineId);
      return params.size ? `/runs?${params}` : '/runs';
    };
    return c.html(
      <Layout title="Runs" session={c.get('session')} section="/runs">
        <h1>Runs</h1>
        {!query.success && <Notice kind="error">That filter is not valid; showing every run.</Notice>}
        {page === null && <Notice kind="error">That page link is not valid any more.</Notice>}
        {pipelines.length === 0 ? (
          <EmptyState>
            <p>
              To run something, first <a href="/agents/new">create an agent</a>, then <a href="/pipelines/new">a pipeline</a> that uses it.
            </p>
          </EmptyState>
        ) : (
          <details open={runs.data.length === 0 && !status && !cursor}>
            <summary class="disclosure">Start a run</summary>
            <RunForm session={c.get('session')} pipelines={pipelines} {...(pipelineId ? { pipelineId } : {})} />
          </details>
        )}
        <nav class="filters" aria-label="Filter by status">
          <a href={filterLink()} aria-current={status ? undefined : 'true'}>
            all
          </a>
          {runStatuses.map((value) => (
            <a href={filterLink(value)} aria-current={status === value ? 'true' : undefined}>
              {value}
            </a>
          ))}
        </nav>
        {runs.data.length === 0 ? (
          <EmptyState>{status ? `No ${status} runs.` : 'No runs yet.'}</EmptyState>
        ) : (
          <table class="responsive">
            <thead>
              <tr>
                <th>Run</th>
                <th>Pipeline</th>
                <th>Input · why it failed</th>
                <th>Status</th>
                <th>Cost</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.map((run) => (
                <tr data-run={run.id}>
                  <td data-label="Run">
                    <a class="mono" href={`/runs/${run.id}`}>
                      {run.id}
                    </a>
                  </td>
                  <td data-label="Pipeline">
                    <a href={`/pipelines/${run.pipelineId}`}>{names.get(run.pipelineId) ?? run.pipelineId}</a>
                  </td>
                  <td data-label="Input">
                    <div class="preview run-input" title={inputPreview(run.input)}>
                      {inputPreview(run.input)}
                    </div>
                    {failureReason(run) && <div class="reason run-reason">{failureReason(run)}</div>}
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={run.status} />
                  </td>
                  <td data-label="Cost">{formatSpend(run.cost, run.usage)}</td>
                  <td data-label="Created" class="small muted">
                    {formatDate(run.createdAt)}
                    {run.scheduledFor && <div class="run-scheduled-for">due {formatDate(run.scheduledFor)}</div>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager base="/runs" cursor={cursor} nextCursor={runs.nextCursor} params={{ status, pipelineId }} />
      </Layout>,
    );
  });

  app.post('/', async (c) => {
    const deps = c.get('deps');
    const form = await readForm(c);
    const pipelineId = field(form, 'pipelineId');
    const input = field(form, 'input');
    const delay = field(form, 'delaySeconds').trim();
    const maxCostUsd = field(form, 'maxCostUsd').trim();
    const parsed = SubmitRunBody.safeParse({
      input: input.trim() === '' ? undefined : input,
      ...(delay ? { delaySeconds: Number(delay) } : {}),
      ...(maxCostUsd ? { maxCostUsd } : {}),
    });
    const refuse = async (messages: string[], status: 400 | 404 | 409) => {
      const pipeline = pipelineId ? await getPipeline(deps, pipelineId).catch(notFoundOr) : null;
      return c.html(
        <Layout title="Run not started" session={c.get('session')} section="/runs">
          <h1>Run not started</h1>
          <Notice kind="error">
            <span id="run-refused">{messages.join(' ')}</span>
          </Notice>
          {pipeline && (
            <>
              <p>
                Pipeline: <a href={`/pipelines/${pipeline.id}`}>{pipeline.name}</a>
              </p>
              {pipeline.orphaned && (
                <p>
                  <a class="button" href={`/pipelines/${pipeline.id}/edit`}>
                    Edit the pipeline's steps
                  </a>
                </p>
              )}
              <RunForm
                session={c.get('session')}
                pipelineId={pipeline.id}
                input={input}
                {...(pipeline.orphaned ? { disabledReason: 'An orphaned pipeline cannot run: edit its steps first. Your input is kept below.' } : {})}
              />
            </>
          )}
        </Layout>,
        status,
      );
    };
    if (!pipelineId) return refuse(['Choose a pipeline to run.'], 400);
    if (!parsed.success) {
      const budgetRefused = parsed.error.issues.some((issue) => issue.path[0] === 'maxCostUsd');
      const reason =
        input.trim() === ''
          ? 'The input is empty: write what the pipeline should work on.'
          : budgetRefused
            ? 'The budget must be an amount in US dollars such as 0.50.'
            : 'The delay must be a whole number of seconds, at most 366 days.';
      return refuse([reason], 400);
    }
    try {
      const { run } = await submitRun(deps, pipelineId, parsed.data, { requestId: c.get('requestId') });
      return c.redirect(`/runs/${run.id}`, 303);
    } catch (error) {
      const { status, messages } = apiErrorMessages(error);
      return refuse(messages, status === 404 ? 404 : status === 409 ? 409 : 400);
    }
  });

  /** Runs waiting at an approval step, oldest first: what needs a person now. */
  app.get('/waiting', async (c) => {
    const deps = c.get('deps');
    const [page, pipelines] = await Promise.all([listRuns(deps, { limit: 100, status: 'waiting' }), pipelineNames(deps)]);
    const names = new Map(pipelines.map((pipeline) => [pipeline.id, pipeline.name]));
    const runs = [...page.data].reverse();
    return c.html(
      <Layout title="Waiting for you" session={c.get('session')} section="/runs/waiting">
        <h1>Waiting for you</h1>
        <p class="hint">Runs stopped at an approval step. Open one to read the output so far, edit it, and approve or reject.</p>
        {runs.length === 0 ? (
          <EmptyState>No run is waiting for a decision.</EmptyState>
        ) : (
          <table class="responsive" id="waiting-runs">
            <thead>
              <tr>
                <th>Run</th>
                <th>Pipeline</th>
                <th>Step · instructions</th>
                <th>Waiting since</th>
                <th>Decided automatically</th>
              </tr>
            </thead>
            <tbody>
              {runs.map((run) => {
                const step = run.waiting ? run.steps[run.waiting.index] : undefined;
                return (
                  <tr data-run={run.id}>
                    <td data-label="Run">
                      <a class="mono" href={`/runs/${run.id}`}>
                        {run.id}
                      </a>
                    </td>
                    <td data-label="Pipeline">{names.get(run.pipelineId) ?? run.pipelineId}</td>
                    <td data-label="Step">
                      {step ? `Step ${step.index + 1}` : ''}
                      {step?.instructions && <div class="preview">{step.instructions}</div>}
                    </td>
                    <td data-label="Waiting since" class="small">
                      {run.waiting ? formatDate(run.waiting.since) : ''}
                    </td>
                    <td data-label="Timeout" class="small">
                      {run.waiting?.timeoutAt ? formatDate(run.waiting.timeoutAt) : 'never'}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
      </Layout>,
    );
  });

  app.get('/:id', async (c) => {
    const deps = c.get('deps');
    const run = await getRun(deps, c.req.param('id')).catch(notFoundOr);
    if (!run) return notFoundPage(c, 'Run', '/runs');
    const [pipeline, deliveries, branches] = await Promise.all([
      getPipeline(deps, run.pipelineId).catch(notFoundOr),
      listRunWebhookDeliveries(deps, run.id),
      listRuns(deps, { limit: 100, parentRunId: run.id }),
    ]);
    const live = !finished(run.status);
    const waitingStep = run.waiting ? run.steps[run.waiting.index] : undefined;
    const branchable = pipeline ? branchableSteps(run) : new Set<number>();
    const redelivered = c.req.query('redelivered');
    return c.html(
      <Layout title={`Run ${run.id}`} session={c.get('session')} section="/runs">
        <div class="head">
          <h1>
            {'Run '}
            <span class="mono run-title">{run.id}</span>
          </h1>
          {live && (
            <form method="post" action={`/runs/${run.id}/cancel`} id="cancel-form">
              <CsrfField token={c.get('session').csrfToken} />
              <button type="submit" class="danger">
                Cancel run
              </button>
            </form>
          )}
        </div>
        <div id="run-notice">
          {c.req.query('canceled') && <Notice kind="ok">Cancel requested: the step in flight is being stopped.</Notice>}
          {redelivered === '1' && <Notice kind="ok">The end event is queued for delivery.</Notice>}
          {redelivered && redelivered !== '1' && <Notice kind="error">{redelivered}</Notice>}
          {c.req.query('refused') && <Notice kind="error">{c.req.query('refused')}</Notice>}
          {c.req.query('approved') && <Notice kind="ok">Approved: the run goes on.</Notice>}
        </div>
        <dl class="stats panel">
          <div>
            <dt>Status</dt>
            <dd>
              <StatusBadge status={run.status} id="run-status" />
            </dd>
          </div>
          <div>
            <dt>Pipeline</dt>
            <dd>{pipeline ? <a href={`/pipelines/${pipeline.id}`}>{pipeline.name}</a> : run.pipelineId}</dd>
          </div>
          <div>
            <dt>Tokens</dt>
            <dd id="run-usage">{formatTokens(run.usage)}</dd>
          </div>
          <div>
            <dt>Cost</dt>
            <dd id="run-cost">{formatSpend(run.cost, run.usage)}</dd>
          </div>
          {run.cacheSavings !== null && run.steps.some(cached) && (
            <div>
              <dt>Caching saved</dt>
              <dd id="run-cache-savings">{formatCost(run.cacheSavings)}</dd>
            </div>
          )}
          {run.maxCostUsd !== null && (
            <div>
              <dt>Budget</dt>
              <dd id="run-budget">{formatCost(run.maxCostUsd)}</dd>
            </div>
          )}
          <div>
            <dt>Duration</dt>
            <dd>{formatDuration(durationBetween(run.startedAt, run.finishedAt))}</dd>
          </div>
          <div>
            <dt>Created</dt>
            <dd class="small">{formatDate(run.createdAt)}</dd>
          </div>
          {run.scheduledFor && (
            <div>
              <dt>Scheduled for</dt>
              <dd class="small" id="run-scheduled-for">
                {formatDate(run.scheduledFor)}
              </dd>
            </div>
          )}
          {run.parentRunId && (
            <div>
              <dt>Branched from</dt>
              <dd id="run-parent">
                <a class="mono" href={`/runs/${run.parentRunId}`}>
                  {run.parentRunId}
                </a>
                {run.branchedFromStep !== undefined ? ` at step ${run.branchedFromStep + 1}` : ''}
              </dd>
            </div>
          )}
        </dl>
        {branches.data.length > 0 && (
          <div class="panel" id="run-branches">
            <strong>Branches</strong>
            <ul>
              {branches.data.map((branch) => (
                <li>
                  <a class="mono" href={`/runs/${branch.id}`}>
                    {branch.id}
                  </a>
                  {` from step ${(branch.branchedFromStep ?? 0) + 1} `}
                  <StatusBadge status={branch.status} />
                </li>
              ))}
            </ul>
          </div>
        )}
        {waitingStep && <ApprovalPanel run={run} step={waitingStep} csrfToken={c.get('session').csrfToken} />}
        <div id="run-error">
          {run.error && <Notice kind="error">{failureReason(run)}</Notice>}
        </div>
        <p id="run-artifact">{run.artifactId && <a class="button" href={`/artifacts/${run.artifactId}`}>Open the artifact</a>}</p>
        <h2>Input</h2>
        <div class="panel">
          <pre class="plain">{asText(run.input)}</pre>
        </div>
        <h2>Steps</h2>
        <div id="steps">
          {run.steps.map((step) => (
            <StepCard step={step} runId={run.id} rerun={branchable.has(step.index) ? c.get('session').csrfToken : undefined} />
          ))}
        </div>
        <section id="final-output-section" class={run.output === undefined ? 'empty-output' : ''}>
          <h2>Output</h2>
          <div class="panel">
            <OutputViewer text={run.output === undefined ? null : asText(run.output)} id="final-output" />
            <OutputActions target="final-output" text={run.output === undefined ? null : asText(run.output)} filename={`${run.id}-output.md`} />
          </div>
        </section>
        <h2>Webhook deliveries</h2>
        <WebhookDeliveries runId={run.id} session={c.get('session')} deliveries={deliveries} ended={!live} />
        {live && (
          <>
            <noscript>
              <Notice kind="warn">This run is still going. Reload the page to see its progress (live updates need JavaScript).</Notice>
            </noscript>
            <script type="module" src={assetPath('live-run.js')} id="live-run" data-run-id={run.id}></script>
          </>
        )}
      </Layout>,
    );
  });

  app.get('/:id/events', consoleRunEvents);

  const decider = (c: { get(key: 'session'): { user: string } }) => `console:${c.get('session').user}`;

  /**
   * Does one action on a run and redirects where `act` says; a missing run is the not-found page,
   * any other refusal redirects to `refusedTo` with the API's messages.
   */
  const runAction = async (c: Context<ConsoleEnv>, act: () => Promise<string>, refusedTo: (messages: string[]) => string) => {
    try {
      return c.redirect(await act(), 303);
    } catch (error) {
      const { status, messages } = apiErrorMessages(error);
      if (status === 404) return notFoundPage(c, 'Run', '/runs');
      return c.redirect(refusedTo(messages), 303);
    }
  };
  const refusedOn = (id: string) => (messages: string[]) => `/runs/${id}?refused=${encodeURIComponent(messages.join(' '))}`;

  app.post('/:id/approve', async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const comment = field(form, 'comment').trim();
    return runAction(
      c,
      async () => {
        await approveRun(c.get('deps'), id, { output: field(form, 'output'), ...(comment ? { comment } : {}) }, decider(c));
        return `/runs/${id}?approved=1`;
      },
      refusedOn(id),
    );
  });

  app.post('/:id/reject', async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const comment = field(form, 'comment').trim();
    return runAction(
      c,
      async () => {
        await rejectRun(c.get('deps'), id, comment ? { comment } : {}, decider(c));
        return `/runs/${id}`;
      },
      refusedOn(id),
    );
  });

  app.post('/:id/branch', async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const fromStep = Number(field(form, 'fromStep'));
    const edited = field(form, 'mode') !== 'rerun';
    return runAction(
      c,
      async () => {
        const branch = await branchRun(c.get('deps'), id, { fromStep, ...(edited ? { output: field(form, 'output') } : {}) }, c.get('requestId'));
        return `/runs/${branch.id}`;
      },
      refusedOn(id),
    );
  });

  app.post('/:id/redeliver', async (c) => {
    const id = c.req.param('id');
    return runAction(
      c,
      async () => {
        await redeliverRunWebhook(c.get('deps'), id);
        return `/runs/${id}?redelivered=1#webhook-deliveries`;
      },
      (messages) => `/runs/${id}?redelivered=${encodeURIComponent(messages.join(' '))}#webhook-deliveries`,
    );
  });

  app.post('/:id/cancel', async (c) => {
    const id = c.req.param('id');
    return runAction(
      c,
      async () => {
        await cancelRun(c.get('deps'), id);
        return `/runs/${id}?canceled=1`;
      },
      () => `/runs/${id}`,
    );
  });

  return app;
}
