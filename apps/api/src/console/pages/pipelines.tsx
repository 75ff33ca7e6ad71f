/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import type { Context } from 'hono';
import type { AgentJson } from '../../schemas/agents.ts';
import { CreatePipelineBody, UpdatePipelineBody, type PipelineJson } from '../../schemas/pipelines.ts';
import { createPipeline, deletePipeline, getPipeline, listPipelines, updatePipeline } from '../../services/pipelines.ts';
import { allAgents } from '../all-agents.ts';
import type { Session } from '../auth/session.ts';
import { CsrfField } from '../components/csrf-field.tsx';
import { EmptyState, FormErrors, Notice } from '../components/notice.tsx';
import { Pager } from '../components/pager.tsx';
import { RunForm } from '../components/run-form.tsx';
import { SchedulesPanel } from '../components/schedules-panel.tsx';
import { createSchedule, deleteSchedule, listSchedules, updateSchedule } from '../../services/schedules.ts';
import { CreateScheduleBody } from '../../schemas/schedules.ts';
import { validationError } from '../../errors.ts';
import type { ConsoleEnv } from '../env.ts';
import { apiErrorMessages, field, fields, optionalNumber, readForm, validationMessages, type FormData } from '../forms.ts';
import { formatDate } from '../format.ts';
import { guardedRouter } from '../guard.ts';
import { Layout } from '../layout.tsx';
import { loadModelChoices } from '../model-choices.ts';
import { DEFAULT_MODEL_VALUE } from '../components/model-select.tsx';
import { UnsetDefaultWarning } from '../components/unset-default.tsx';
import { notFoundOr, notFoundPage } from './errors.tsx';

const labels = { name: 'Name', steps: 'Steps', webhookUrl: 'Webhook URL', maxDurationSeconds: 'Max duration', maxCostUsd: 'Budget per run' };

/** The builder's "agent" choice that makes a step an approval step. */
const APPROVAL_CHOICE = '__approval__';

interface DraftStep {
  /** An agent id, APPROVAL_CHOICE, or "" (not chosen yet). */
  agentId: string;
  /** An agent step's prompt; an approval step's instructions. */
  prompt: string;
  timeoutSeconds: string;
  onTimeout: string;
}

interface PipelineDraft {
  name: string;
  webhookUrl: string;
  maxDurationSeconds: string;
  maxCostUsd: string;
  steps: DraftStep[];
}

const emptyStep = (): DraftStep => ({ agentId: '', prompt: '', timeoutSeconds: '', onTimeout: 'reject' });

function draftOf(pipeline: PipelineJson): PipelineDraft {
  return {
    name: pipeline.name,
    webhookUrl: pipeline.webhookUrl ?? '',
    maxDurationSeconds: pipeline.maxDurationSeconds === null ? '' : String(pipeline.maxDurationSeconds),
    maxCostUsd: pipeline.maxCostUsd ?? '',
    steps: pipeline.steps.map((step) =>
      step.type === 'approval'
        ? { agentId: APPROVAL_CHOICE, prompt: step.instructions ?? '', timeoutSeconds: step.timeoutSeconds ? String(step.timeoutSeconds) : '', onTimeout: step.onTimeout ?? 'reject' }
        : { ...emptyStep(), agentId: step.agentId ?? '', prompt: step.prompt ?? '' },
    ),
  };
}

function draftFromForm(form: FormData): PipelineDraft {
  // Every step posts every field (an agent not chosen yet posts ""), so the lists line up.
  const agentIds = fields(form, 'stepAgent');
  const prompts = fields(form, 'stepPrompt');
  const timeouts = fields(form, 'stepTimeoutSeconds');
  const onTimeouts = fields(form, 'stepOnTimeout');
  const count = Math.max(agentIds.length, prompts.length);
  return {
    name: field(form, 'name'),
    webhookUrl: field(form, 'webhookUrl'),
    maxDurationSeconds: field(form, 'maxDurationSeconds'),
    maxCostUsd: field(form, 'maxCostUsd').trim(),
    steps: Array.from({ length: count }, (_, index) => ({
      agentId: agentIds[index] ?? '',
      prompt: prompts[index] ?? '',
      timeoutSeconds: timeouts[index] ?? '',
      onTimeout: onTimeouts[index] ?? 'reject',
    })),
  };
}

/** The builder's buttons (`add`, `up:2`, `down:0`, `remove:1`) edit the draft server-side, so it works without JavaScript. */
function applyBuilderOperation(draft: PipelineDraft, operation: string): PipelineDraft {
  const steps = [...draft.steps];
  const [verb, position] = operation.split(':');
  const index = Number(position);
  if (verb === 'add') steps.push(emptyStep());
  else if (verb === 'remove' && steps[index]) steps.splice(index, 1);
  else if (verb === 'up' && index > 0 && steps[index]) [steps[index - 1], steps[index]] = [steps[index]!, steps[index - 1]!];
  else if (verb === 'down' && index < steps.length - 1) [steps[index + 1], steps[index]] = [steps[index]!, steps[index + 1]!];
  return { ...draft, steps };
}

/** A step without an agent is kept in the form (with its prompt) and named, rather than dropped. */
function stepsWithoutAgent(draft: PipelineDraft): string[] {
  return draft.steps.flatMap((step, index) => (step.agentId ? [] : [`Step ${index + 1}: choose an agent.`]));
}

function pipelineInput(draft: PipelineDraft) {
  return {
    name: draft.name,
    steps: draft.steps.map((step) =>
      step.agentId === APPROVAL_CHOICE
        ? {
            type: 'approval' as const,
            ...(step.prompt.trim() ? { instructions: step.prompt } : {}),
            ...(step.timeoutSeconds.trim() ? { timeoutSeconds: optionalNumber(step.timeoutSeconds), onTimeout: step.onTimeout === 'approve' ? 'approve' : 'reject' } : {}),
          }
        : { agentId: step.agentId, ...(step.prompt.trim() ? { prompt: step.prompt } : {}) },
    ),
    webhookUrl: draft.webhookUrl.trim() || undefined,
    maxDurationSeconds: optionalNumber(draft.maxDurationSeconds),
    maxCostUsd: draft.maxCostUsd || undefined,
  };
}

function PipelineBuilder(props: {
  session: Session;
  action: string;
  draft: PipelineDraft;
  agents: AgentJson[];
  defaultModel: string | null;
  errors?: string[];
  submitLabel: string;
}) {
  const { draft, agents, defaultModel } = props;
  const known = new Set(agents.map((agent) => agent.id));
  return (
    <form method="post" action={props.action} class="panel">
      <FormErrors errors={props.errors} />
      <CsrfField token={props.session.csrfToken} />
      <label for="name">Name</label>
      <input id="name" type="text" name="name" value={draft.name} maxlength={200} />
      <h2>Steps</h2>
      <p class="hint">
        Each step runs one agent. Its prompt is a template: <code>{'{{input}}'}</code> is the run input and{' '}
        <code>{'{{previous}}'}</code> the previous step's output. Empty: the first step gets the input, each later step the
        previous output.
      </p>
      {draft.steps.length === 0 && <p class="muted">No steps yet: add one.</p>}
      {draft.steps.map((step, index) => (
        <div class={`step${step.agentId && step.agentId !== APPROVAL_CHOICE && !known.has(step.agentId) ? ' missing' : ''}`} data-step={index}>
          <div class="meta">
            <strong>{`Step ${index + 1}`}</strong>
          </div>
          <label for={`stepAgent${index}`}>Agent</label>
          <select id={`stepAgent${index}`} name="stepAgent">
            <option value="" selected={step.agentId === ''}>
              Choose an agent
            </option>
            <option value={APPROVAL_CHOICE} selected={step.agentId === APPROVAL_CHOICE}>
              Approval: a person approves or rejects the output so far
            </option>
            {step.agentId && step.agentId !== APPROVAL_CHOICE && !known.has(step.agentId) && (
              <option value={step.agentId} selected>{`Deleted agent (${step.agentId})`}</option>
            )}
            {agents.map((agent) => (
              <option value={agent.id} selected={agent.id === step.agentId}>
                {`${agent.name} — ${agent.model === DEFAULT_MODEL_VALUE ? `default model${defaultModel ? '' : ' (not set)'}` : agent.model}`}
              </option>
            ))}
          </select>
          <label for={`stepPrompt${index}`}>{step.agentId === APPROVAL_CHOICE ? 'Instructions for the approver (optional)' : 'Prompt (optional)'}</label>
          <textarea id={`stepPrompt${index}`} name="stepPrompt" rows={2}>
            {step.prompt}
          </textarea>
          <details open={step.agentId === APPROVAL_CHOICE && step.timeoutSeconds !== ''}>
            <summary>Approval timeout (approval steps only)</summary>
            <label for={`stepTimeoutSeconds${index}`}>Decide automatically after (seconds)</label>
            <input id={`stepTimeoutSeconds${index}`} type="number" min="1" name="stepTimeoutSeconds" value={step.timeoutSeconds} placeholder="never" />
            <label for={`stepOnTimeout${index}`}>Then</label>
            <select id={`stepOnTimeout${index}`} name="stepOnTimeout">
              <option value="reject" selected={step.onTimeout !== 'approve'}>
                reject
              </option>
              <option value="approve" selected={step.onTimeout === 'approve'}>
                approve
              </option>
            </select>
          </details>
          <div class="actions">
            <button type="submit" class="secondary" name="op" value={`up:${index}`} disabled={index === 0} formnovalidate>
              ↑ Up
            </button>
            <button type="submit" class="secondary" name="op" value={`down:${index}`} disabled={index === draft.steps.length - 1} formnovalidate>
              ↓ Down
            </button>
            <button type="submit" class="secondary" name="op" value={`remove:${index}`} formnovalidate>
              Remove
            </button>
          </div>
        </div>
      ))}
      <div class="actions">
        <button type="submit" class="secondary" name="op" value="add" formnovalidate>
          + Add step
        </button>
      </div>
      {agents.length === 0 && (
        <p class="hint">
          There are no agents to choose from yet: <a href="/agents/new">create an agent</a> first.
        </p>
      )}
      <h2>Options</h2>
      <label for="webhookUrl">Webhook URL (optional)</label>
      <input id="webhookUrl" type="url" name="webhookUrl" value={draft.webhookUrl} placeholder="https://example.com/hooks/conveyor" />
      <label for="maxDurationSeconds">Max duration in seconds (optional)</label>
      <input id="maxDurationSeconds" type="number" name="maxDurationSeconds" min="1" value={draft.maxDurationSeconds} placeholder="server default" />
      <label for="maxCostUsd">Budget per run in USD (optional)</label>
      <input id="maxCostUsd" type="text" inputmode="decimal" name="maxCostUsd" value={draft.maxCostUsd} placeholder="no budget" maxlength={32} />
      <p class="hint">Before each model call, the cost so far plus the call's worst case must fit; otherwise the run fails with budget_exceeded.</p>
      <div class="actions">
        <button type="submit" name="op" value="save">
          {props.submitLabel}
        </button>
        <a href="/pipelines">Cancel</a>
      </div>
    </form>
  );
}

function usesDefaultModel(pipeline: PipelineJson, agentsById: Map<string, AgentJson>): boolean {
  return pipeline.steps.some((step) => step.agentId !== null && agentsById.get(step.agentId)?.model === DEFAULT_MODEL_VALUE);
}

export function OrphanBadge() {
  return <span class="badge orphaned">orphaned</span>;
}

export function pipelinePages() {
  const app = guardedRouter();

  async function renderBuilder(
    c: Context<ConsoleEnv>,
    options: { title: string; action: string; draft: PipelineDraft; submitLabel: string; errors?: string[]; status?: 200 | 400 | 404 },
  ) {
    const [agents, choices] = await Promise.all([allAgents(c.get('deps')), loadModelChoices(c.get('deps'))]);
    return c.html(
      <Layout title={options.title} session={c.get('session')} section="/pipelines">
        <h1>{options.title}</h1>
        <PipelineBuilder
          session={c.get('session')}
          action={options.action}
          draft={options.draft}
          agents={agents}
          defaultModel={choices.defaultModel}
          submitLabel={options.submitLabel}
          {...(options.errors ? { errors: options.errors } : {})}
        />
      </Layout>,
      options.status ?? 200,
    );
  }

  app.get('/', async (c) => {
    const cursor = c.req.query('cursor');
    const [page, agents, choices] = await Promise.all([
      listPipelines(c.get('deps'), { limit: 20, ...(cursor ? { cursor } : {}) }),
      allAgents(c.get('deps')),
      loadModelChoices(c.get('deps')),
    ]);
    const agentsById = new Map(agents.map((agent) => [agent.id, agent]));
    return c.html(
      <Layout title="Pipelines" session={c.get('session')} section="/pipelines">
        <div class="head">
          <h1>Pipelines</h1>
          <a class="button" href="/pipelines/new">
            New pipeline
          </a>
        </div>
        {page.data.length === 0 ? (
          <EmptyState>
            <p>{cursor ? 'No more pipelines.' : 'No pipelines yet. A pipeline runs agents one after another.'}</p>
            <a class="button" href="/pipelines/new">
              Create a pipeline
            </a>
          </EmptyState>
        ) : (
          <table class="responsive">
            <thead>
              <tr>
                <th>Name</th>
                <th>Steps</th>
                <th>Status</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {page.data.map((pipeline) => (
                <tr data-pipeline={pipeline.id}>
                  <td data-label="Name">
                    <a href={`/pipelines/${pipeline.id}`}>{pipeline.name}</a>
                  </td>
                  <td data-label="Steps">{pipeline.steps.length}</td>
                  <td data-label="Status">
                    {pipeline.orphaned ? (
                      <OrphanBadge />
                    ) : !choices.defaultModel && usesDefaultModel(pipeline, agentsById) ? (
                      <span class="badge orphaned" title="A step's agent uses the default model, and none is set">
                        no default model
                      </span>
                    ) : (
                      <span class="badge succeeded">ready</span>
                    )}
                  </td>
                  <td data-label="Created" class="small muted">
                    {formatDate(pipeline.createdAt)}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager base="/pipelines" cursor={cursor} nextCursor={page.nextCursor} />
      </Layout>,
    );
  });

  const blank: PipelineDraft = { name: '', webhookUrl: '', maxDurationSeconds: '', maxCostUsd: '', steps: [emptyStep()] };
  app.get('/new', (c) => renderBuilder(c, { title: 'New pipeline', action: '/pipelines', draft: blank, submitLabel: 'Create pipeline' }));

  app.post('/', async (c) => {
    const form = await readForm(c);
    const draft = draftFromForm(form);
    const operation = field(form, 'op') || 'save';
    const view = { title: 'New pipeline', action: '/pipelines', submitLabel: 'Create pipeline' };
    if (operation !== 'save') return renderBuilder(c, { ...view, draft: applyBuilderOperation(draft, operation) });
    const unchosen = stepsWithoutAgent(draft);
    if (unchosen.length > 0) return renderBuilder(c, { ...view, draft, errors: unchosen, status: 400 });
    const parsed = CreatePipelineBody.safeParse(pipelineInput(draft));
    if (!parsed.success) return renderBuilder(c, { ...view, draft, errors: validationMessages(parsed.error, labels), status: 400 });
    try {
      const pipeline = await createPipeline(c.get('deps'), parsed.data);
      return c.redirect(`/pipelines/${pipeline.id}?saved=1`, 303);
    } catch (error) {
      return renderBuilder(c, { ...view, draft, errors: apiErrorMessages(error).messages, status: 400 });
    }
  });

  app.get('/:id', async (c) => {
    const deps = c.get('deps');
    const pipeline = await getPipeline(deps, c.req.param('id')).catch(notFoundOr);
    if (!pipeline) return notFoundPage(c, 'Pipeline', '/pipelines');
    const [agents, choices, schedules] = await Promise.all([
      allAgents(deps),
      loadModelChoices(deps),
      listSchedules(deps, { limit: 100, pipelineId: pipeline.id }),
    ]);
    const agentsById = new Map(agents.map((agent) => [agent.id, agent]));
    return c.html(
      <Layout title={pipeline.name} session={c.get('session')} section="/pipelines">
        {c.req.query('saved') && <Notice kind="ok">Pipeline saved.</Notice>}
        <div class="head">
          <h1>
            {pipeline.name} {pipeline.orphaned && <OrphanBadge />}
          </h1>
          <div class="actions flush">
            <a class="button secondary" href={`/runs?pipelineId=${pipeline.id}`}>
              Runs
            </a>
            <a class="button" href={`/pipelines/${pipeline.id}/edit`}>
              Edit
            </a>
          </div>
        </div>
        {pipeline.orphaned && (
          <Notice kind="error">
            {`This pipeline is orphaned: step${pipeline.missingAgentIds.length > 1 ? 's name' : ' names'} deleted agent${pipeline.missingAgentIds.length > 1 ? 's' : ''} ${pipeline.missingAgentIds.join(', ')}. It cannot run until you edit the steps.`}
          </Notice>
        )}
        {!choices.defaultModel && usesDefaultModel(pipeline, agentsById) && (
          <UnsetDefaultWarning message="A step of this pipeline runs an agent on the default model." />
        )}
        <h2>Steps</h2>
        {pipeline.steps.map((step) => {
          if (step.type === 'approval') {
            return (
              <div class="step approval" data-step={step.index}>
                <div class="meta">
                  <strong>{`Step ${step.index + 1}`}</strong>
                  <span class="badge waiting">approval</span>
                  {step.timeoutSeconds && <span class="hint">{`after ${step.timeoutSeconds} s without a decision: ${step.onTimeout ?? 'reject'}`}</span>}
                </div>
                {step.instructions ? <pre class="mono small wrap">{step.instructions}</pre> : <span class="hint">A person approves or rejects the output so far</span>}
              </div>
            );
          }
          const agent = step.agentId === null ? undefined : agentsById.get(step.agentId);
          const model = agent ? (agent.model === DEFAULT_MODEL_VALUE ? `default (${choices.defaultModel ?? 'not set'})` : agent.model) : null;
          return (
            <div class={`step${agent ? '' : ' missing'}`} data-step={step.index}>
              <div class="meta">
                <strong>{`Step ${step.index + 1}`}</strong>
                {agent ? (
                  <>
                    <a href={`/agents/${agent.id}`}>{agent.name}</a>
                    <span class="mono">{model}</span>
                  </>
                ) : (
                  <>
                    <span class="badge orphaned">deleted agent</span>
                    <span class="mono">{step.agentId}</span>
                  </>
                )}
              </div>
              {step.prompt ? <pre class="mono small wrap">{step.prompt}</pre> : <span class="hint">Default prompt</span>}
            </div>
          );
        })}
        <h2>Run it</h2>
        <RunForm
          session={c.get('session')}
          pipelineId={pipeline.id}
          {...(pipeline.orphaned ? { disabledReason: 'An orphaned pipeline cannot run: edit its steps first.' } : {})}
        />
        <h2>Schedules</h2>
        <SchedulesPanel session={c.get('session')} pipelineId={pipeline.id} schedules={schedules.data} error={c.req.query('scheduleError')} />
        <h2>Delete</h2>
        <form method="post" action={`/pipelines/${pipeline.id}/delete`} class="actions">
          <CsrfField token={c.get('session').csrfToken} />
          <button type="submit" class="danger">
            Delete pipeline
          </button>
          <span class="hint">Deleting a pipeline that has runs archives it: it leaves the lists, its runs and artifacts are kept. Its schedules are deleted.</span>
        </form>
      </Layout>,
    );
  });

  app.get('/:id/edit', async (c) => {
    const pipeline = await getPipeline(c.get('deps'), c.req.param('id')).catch(notFoundOr);
    if (!pipeline) return notFoundPage(c, 'Pipeline', '/pipelines');
    return renderBuilder(c, { title: `Edit ${pipeline.name}`, action: `/pipelines/${pipeline.id}`, draft: draftOf(pipeline), submitLabel: 'Save pipeline' });
  });

  app.post('/:id', async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const draft = draftFromForm(form);
    const operation = field(form, 'op') || 'save';
    const view = { title: `Edit ${draft.name || 'pipeline'}`, action: `/pipelines/${id}`, submitLabel: 'Save pipeline' };
    if (operation !== 'save') return renderBuilder(c, { ...view, draft: applyBuilderOperation(draft, operation) });
    const unchosen = stepsWithoutAgent(draft);
    if (unchosen.length > 0) return renderBuilder(c, { ...view, draft, errors: unchosen, status: 400 });
    const input = pipelineInput(draft);
    const parsed = UpdatePipelineBody.safeParse({
      ...input,
      webhookUrl: input.webhookUrl ?? null,
      maxDurationSeconds: input.maxDurationSeconds ?? null,
      maxCostUsd: input.maxCostUsd ?? null,
    });
    if (!parsed.success) return renderBuilder(c, { ...view, draft, errors: validationMessages(parsed.error, labels), status: 400 });
    try {
      await updatePipeline(c.get('deps'), id, parsed.data);
      return c.redirect(`/pipelines/${id}?saved=1`, 303);
    } catch (error) {
      const { status, messages } = apiErrorMessages(error);
      return renderBuilder(c, { ...view, draft, errors: messages, status: status === 404 ? 404 : 400 });
    }
  });

  /** Back to the pipeline's schedules, with why a change was refused. */
  const toSchedules = (c: Context<ConsoleEnv>, id: string, error?: unknown) => {
    const message = error === undefined ? '' : `?scheduleError=${encodeURIComponent(apiErrorMessages(error).messages.join(' '))}`;
    return c.redirect(`/pipelines/${id}${message}#schedules`, 303);
  };

  app.post('/:id/schedules', async (c) => {
    const id = c.req.param('id');
    const form = await readForm(c);
    const input = field(form, 'input');
    const parsed = CreateScheduleBody.safeParse({
      cron: field(form, 'cron'),
      timezone: field(form, 'timezone').trim() || 'UTC',
      input: input.trim() === '' ? undefined : input,
    });
    if (!parsed.success) return toSchedules(c, id, validationError(validationMessages(parsed.error, { cron: 'Cron', timezone: 'Time zone', input: 'Input' }).join(' ')));
    try {
      await createSchedule(c.get('deps'), id, parsed.data);
      return toSchedules(c, id);
    } catch (error) {
      return toSchedules(c, id, error);
    }
  });

  for (const action of ['enable', 'disable', 'delete'] as const) {
    app.post(`/:id/schedules/:scheduleId/${action}`, async (c) => {
      const { id, scheduleId } = c.req.param();
      try {
        if (action === 'delete') await deleteSchedule(c.get('deps'), scheduleId);
        else await updateSchedule(c.get('deps'), scheduleId, { enabled: action === 'enable' });
        return toSchedules(c, id);
      } catch (error) {
        return toSchedules(c, id, error);
      }
    });
  }

  app.post('/:id/delete', async (c) => {
    const id = c.req.param('id');
    try {
      await deletePipeline(c.get('deps'), id);
      return c.redirect('/pipelines', 303);
    } catch (error) {
      const { status, messages } = apiErrorMessages(error);
      return c.html(
        <Layout title="Pipeline not deleted" session={c.get('session')} section="/pipelines">
          <h1>Pipeline not deleted</h1>
          <Notice kind="error">{messages.join(' ')}</Notice>
          <p>
            <a href={`/pipelines/${id}`}>Back to the pipeline</a>
          </p>
        </Layout>,
        status === 404 ? 404 : 409,
      );
    }
  });

  return app;
}
