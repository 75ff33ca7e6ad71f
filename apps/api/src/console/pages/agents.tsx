/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { ApiError } from '../../errors.ts';
import type { AgentJson } from '../../schemas/agents.ts';
import { CreateAgentBody, UpdateAgentBody } from '../../schemas/agents.ts';
import { createAgent, deleteAgent, getAgent, listAgents, pipelinesUsingAgent, updateAgent } from '../../services/agents.ts';
import type { Session } from '../auth/session.ts';
import { ListMcpToolsBody } from '../../schemas/mcp.ts';
import { listServerTools } from '../../services/mcp-tools.ts';
import { AgentToolsFields, emptyToolsDraft, mcpServerInput, type ToolsDraft, toolsDraftFromForm, toolsDraftOf, toolsInput, toolSummary } from '../components/agent-tools.tsx';
import { CsrfField } from '../components/csrf-field.tsx';
import { DEFAULT_MODEL_VALUE, ModelSelect } from '../components/model-select.tsx';
import { UnsetDefaultWarning } from '../components/unset-default.tsx';
import { EmptyState, FormErrors, Notice } from '../components/notice.tsx';
import type { ConsoleEnv } from '../env.ts';
import { defaultMaxTurns } from '@conveyor/core';
import { apiErrorMessages, field, optionalNumber, readForm, validationMessages, type FormData } from '../forms.ts';
import { formatDate } from '../format.ts';
import { guardedRouter } from '../guard.ts';
import { Layout } from '../layout.tsx';
import { loadModelChoices, type ModelChoices } from '../model-choices.ts';
import { skippedTools, unsupportedToolNotes } from '../tool-support.ts';
import { notFoundOr, notFoundPage } from './errors.tsx';
import type { Context } from 'hono';

const labels = { name: 'Name', model: 'Model', systemPrompt: 'System prompt', temperature: 'Temperature', maxTokens: 'Max tokens', tools: 'Tools', outputSchema: 'Output schema', maxTurns: 'Max turns', fallbackModels: 'Fallback models', cacheSystemPrompt: 'Prompt caching' };

const mcpLabels = { url: 'URL', allowedTools: 'Allowed tools', headers: 'Headers', agentId: 'Agent' };

interface AgentDraft {
  name: string;
  model: string;
  systemPrompt: string;
  temperature: string;
  maxTokens: string;
  tools: ToolsDraft;
  /** Comma-separated. */
  fallbackModels: string;
  cacheSystemPrompt: boolean;
}

const emptyDraft: AgentDraft = { name: '', model: '', systemPrompt: '', temperature: '', maxTokens: '', tools: emptyToolsDraft, fallbackModels: '', cacheSystemPrompt: false };

const fallbackList = (text: string) =>
  text
    .split(',')
    .map((model) => model.trim())
    .filter((model) => model !== '');

function draftOf(agent: AgentJson): AgentDraft {
  return {
    name: agent.name,
    model: agent.model,
    systemPrompt: agent.systemPrompt ?? '',
    temperature: agent.temperature === null ? '' : String(agent.temperature),
    maxTokens: agent.maxTokens === null ? '' : String(agent.maxTokens),
    tools: toolsDraftOf(agent.tools, agent.outputSchema, agent.maxTurns),
    fallbackModels: agent.fallbackModels.join(', '),
    cacheSystemPrompt: agent.cacheSystemPrompt,
  };
}

function draftFromForm(form: FormData): AgentDraft {
  return {
    name: field(form, 'name'),
    model: field(form, 'model'),
    systemPrompt: field(form, 'systemPrompt'),
    temperature: field(form, 'temperature'),
    maxTokens: field(form, 'maxTokens'),
    tools: toolsDraftFromForm(form),
    fallbackModels: field(form, 'fallbackModels'),
    cacheSystemPrompt: field(form, 'cacheSystemPrompt') === 'on',
  };
}

function AgentForm(props: {
  session: Session;
  action: string;
  draft: AgentDraft;
  choices: ModelChoices;
  toolNotes: string[];
  errors?: string[];
  submitLabel: string;
  /** The agent being edited (its stored MCP headers can be used to list a server's tools). */
  agentId?: string;
}) {
  const { draft, choices } = props;
  return (
    <form method="post" action={props.action} class="panel">
      <FormErrors errors={props.errors} />
      <CsrfField token={props.session.csrfToken} />
      <label for="name">Name</label>
      <input id="name" type="text" name="name" value={draft.name} required maxlength={200} />
      <label for="model">Model</label>
      <ModelSelect name="model" id="model" groups={choices.groups} selected={draft.model || null} defaultOption={{ current: choices.defaultModel }} />
      {choices.groups.length === 0 && (
        <p class="hint">
          No provider has an API key yet, so there is no model to choose. Add a key in <a href="/settings">Settings</a>.
        </p>
      )}
      {draft.model === DEFAULT_MODEL_VALUE && !choices.defaultModel && <UnsetDefaultWarning message="This agent uses the default model." />}
      <label for="systemPrompt">System prompt</label>
      <textarea id="systemPrompt" name="systemPrompt" rows={6}>
        {draft.systemPrompt}
      </textarea>
      <label for="temperature">Temperature</label>
      <input id="temperature" type="number" name="temperature" min="0" max="2" step="0.01" value={draft.temperature} placeholder="provider default" />
      <label for="maxTokens">Max tokens</label>
      <input id="maxTokens" type="number" name="maxTokens" min="1" step="1" value={draft.maxTokens} placeholder="provider default" />
      <label for="fallbackModels">Fallback models (optional, comma-separated)</label>
      <input id="fallbackModels" type="text" name="fallbackModels" value={draft.fallbackModels} placeholder="e.g. gpt-4o, claude-haiku-4-5" maxlength={1200} />
      <p class="hint">Tried in order, on any provider, when the model still fails with a transient error after its retries.</p>
      <label class="inline">
        <input type="checkbox" name="cacheSystemPrompt" checked={draft.cacheSystemPrompt} /> Cache the system prompt and tools (Anthropic prompt caching)
      </label>
      <AgentToolsFields draft={draft.tools} toolNotes={props.toolNotes} agentId={props.agentId} />
      <div class="actions">
        <button type="submit">{props.submitLabel}</button>
        <a href="/agents">Cancel</a>
      </div>
    </form>
  );
}

function ModelLabel({ model, defaultModel }: { model: string; defaultModel: string | null }) {
  if (model !== DEFAULT_MODEL_VALUE) return <code>{model}</code>;
  if (!defaultModel) return <span class="badge orphaned">default, not set</span>;
  return (
    <span>
      default <span class="muted small">({defaultModel})</span>
    </span>
  );
}

async function renderForm(
  c: Context<ConsoleEnv>,
  options: { title: string; action: string; draft: AgentDraft; submitLabel: string; agentId?: string; errors?: string[]; status?: 200 | 400 | 404 | 409 },
) {
  const deps = c.get('deps');
  const choices = await loadModelChoices(deps);
  return c.html(
    <Layout title={options.title} session={c.get('session')} section="/agents">
      <h1>{options.title}</h1>
      <AgentForm
        session={c.get('session')}
        action={options.action}
        draft={options.draft}
        choices={choices}
        toolNotes={unsupportedToolNotes(deps.registry)}
        submitLabel={options.submitLabel}
        {...(options.agentId ? { agentId: options.agentId } : {})}
        {...(options.errors ? { errors: options.errors } : {})}
      />
    </Layout>,
    options.status ?? 200,
  );
}

type Parsed<T> = { success: true; data: T } | { success: false; errors: string[] };

function parsedOr<T>(result: { success: true; data: T } | { success: false; error: Parameters<typeof validationMessages>[0] }, jsonErrors: string[]): Parsed<T> {
  if (jsonErrors.length > 0) return { success: false, errors: jsonErrors };
  return result.success ? result : { success: false, errors: validationMessages(result.error, labels) };
}

function toCreateInput(draft: AgentDraft) {
  const tools = toolsInput(draft.tools);
  return parsedOr(
    CreateAgentBody.safeParse({
      name: draft.name,
      model: draft.model,
      ...(draft.systemPrompt.trim() ? { systemPrompt: draft.systemPrompt } : {}),
      ...(optionalNumber(draft.temperature) !== undefined ? { temperature: optionalNumber(draft.temperature) } : {}),
      ...(optionalNumber(draft.maxTokens) !== undefined ? { maxTokens: optionalNumber(draft.maxTokens) } : {}),
      tools: tools.tools,
      ...(tools.outputSchema !== null ? { outputSchema: tools.outputSchema } : {}),
      ...(tools.maxTurns !== undefined ? { maxTurns: tools.maxTurns } : {}),
      fallbackModels: fallbackList(draft.fallbackModels),
      cacheSystemPrompt: draft.cacheSystemPrompt,
    }),
    tools.errors,
  );
}

function toUpdateInput(draft: AgentDraft) {
  const tools = toolsInput(draft.tools);
  return parsedOr(
    UpdateAgentBody.safeParse({
      name: draft.name,
      model: draft.model,
      systemPrompt: draft.systemPrompt.trim() ? draft.systemPrompt : null,
      temperature: optionalNumber(draft.temperature) ?? null,
      maxTokens: optionalNumber(draft.maxTokens) ?? null,
      tools: tools.tools,
      outputSchema: tools.outputSchema,
      maxTurns: tools.maxTurns ?? defaultMaxTurns,
      fallbackModels: fallbackList(draft.fallbackModels),
      cacheSystemPrompt: draft.cacheSystemPrompt,
    }),
    tools.errors,
  );
}

export function agentPages() {
  const app = guardedRouter();

  app.get('/', async (c) => {
    const deps = c.get('deps');
    const [agents, choices] = await Promise.all([listAgents(deps, { limit: 100 }), loadModelChoices(deps)]);
    return c.html(
      <Layout title="Agents" session={c.get('session')} section="/agents">
        <div class="head">
          <h1>Agents</h1>
          <a class="button" href="/agents/new">
            New agent
          </a>
        </div>
        {!choices.defaultModel && agents.data.some((agent) => agent.model === DEFAULT_MODEL_VALUE) && (
          <UnsetDefaultWarning message="Agents marked “default, not set” use the default model." />
        )}
        {agents.data.length === 0 ? (
          <EmptyState>
            <p>No agents yet. An agent is a model with a system prompt and tools; pipelines run agents in order.</p>
            <a class="button" href="/agents/new">
              Create the first agent
            </a>
          </EmptyState>
        ) : (
          <table class="responsive">
            <thead>
              <tr>
                <th>Name</th>
                <th>Model</th>
                <th>Tools</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {agents.data.map((agent) => {
                const skipped = skippedTools(deps.registry, agent.model, agent.tools.flatMap((tool) => (typeof tool === 'string' ? [tool] : [])));
                return (
                  <tr>
                    <td data-label="Name">
                      <a href={`/agents/${agent.id}`}>{agent.name}</a>
                    </td>
                    <td data-label="Model">
                      <ModelLabel model={agent.model} defaultModel={choices.defaultModel} />
                    </td>
                    <td data-label="Tools">
                      {agent.tools.length === 0 ? <span class="muted">none</span> : toolSummary(agent.tools)}
                      {agent.outputSchema && <div class="hint">structured output</div>}
                      {skipped.length > 0 && <div class="hint">{`${skipped.join(', ')} skipped for this model`}</div>}
                    </td>
                    <td data-label="Updated" class="small muted">
                      {formatDate(agent.updatedAt)}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {agents.nextCursor && <p class="hint">Showing the 100 newest agents.</p>}
      </Layout>,
    );
  });

  app.get('/new', (c) => renderForm(c, { title: 'New agent', action: '/agents', draft: emptyDraft, submitLabel: 'Create agent' }));

  app.post('/', async (c) => {
    const draft = draftFromForm(await readForm(c));
    const parsed = toCreateInput(draft);
    const form = { title: 'New agent', action: '/agents', draft, submitLabel: 'Create agent' };
    if (!parsed.success) return renderForm(c, { ...form, errors: parsed.errors, status: 400 });
    try {
      const agent = await createAgent(c.get('deps'), parsed.data);
      return c.redirect(`/agents/${agent.id}?saved=1`, 303);
    } catch (error) {
      const { messages } = apiErrorMessages(error);
      return renderForm(c, { ...form, errors: messages, status: 400 });
    }
  });

  // Asked by the "List tools" button of an MCP server (console.js): the form's fields in, JSON out.
  app.post('/mcp-tools', async (c) => {
    const form = await readForm(c);
    const { server, errors } = mcpServerInput({ url: field(form, 'mcpUrl'), allowedTools: field(form, 'mcpAllowedTools'), headers: field(form, 'mcpHeaders') });
    const agentId = field(form, 'agentId').trim();
    const parsed = ListMcpToolsBody.safeParse({ ...server, ...(agentId ? { agentId } : {}) });
    const messages = errors.length > 0 ? errors : parsed.success ? [] : validationMessages(parsed.error, mcpLabels);
    if (!parsed.success || messages.length > 0) return c.json({ error: { message: messages.join('; ') } }, 400);
    try {
      return c.json(await listServerTools(c.get('deps'), parsed.data), 200);
    } catch (error) {
      if (!(error instanceof ApiError)) throw error;
      return c.json({ error: { message: apiErrorMessages(error).messages.join('; ') } }, error.status);
    }
  });

  app.get('/:id', async (c) => {
    const deps = c.get('deps');
    const agent = await getAgent(deps, c.req.param('id')).catch(notFoundOr);
    if (!agent) return notFoundPage(c, 'Agent');
    const [usedBy, choices] = await Promise.all([pipelinesUsingAgent(deps, agent.id), loadModelChoices(deps)]);
    const skipped = skippedTools(deps.registry, agent.model, agent.tools.flatMap((tool) => (typeof tool === 'string' ? [tool] : [])));
    return c.html(
      <Layout title={agent.name} session={c.get('session')} section="/agents">
        {c.req.query('saved') && <Notice kind="ok">Agent saved. Every pipeline that uses it runs with these settings from its next run on.</Notice>}
        <div class="head">
          <h1>{agent.name}</h1>
          <div class="actions flush">
            <a class="button" href={`/agents/${agent.id}/edit`}>
              Edit
            </a>
            <a class="button danger" href={`/agents/${agent.id}/delete`}>
              Delete
            </a>
          </div>
        </div>
        <dl class="stats panel">
          <div>
            <dt>Model</dt>
            <dd>
              <ModelLabel model={agent.model} defaultModel={choices.defaultModel} />
            </dd>
          </div>
          <div>
            <dt>Temperature</dt>
            <dd>{agent.temperature ?? 'default'}</dd>
          </div>
          <div>
            <dt>Max tokens</dt>
            <dd>{agent.maxTokens ?? 'default'}</dd>
          </div>
          <div>
            <dt>Tools</dt>
            <dd id="agent-tools-summary">{agent.tools.length ? toolSummary(agent.tools) : 'none'}</dd>
          </div>
          <div>
            <dt>Max turns</dt>
            <dd>{agent.maxTurns}</dd>
          </div>
          <div>
            <dt>Fallback models</dt>
            <dd>{agent.fallbackModels.length ? agent.fallbackModels.join(', ') : 'none'}</dd>
          </div>
          <div>
            <dt>Prompt caching</dt>
            <dd>{agent.cacheSystemPrompt ? 'system prompt and tools' : 'off'}</dd>
          </div>
        </dl>
        {agent.model === DEFAULT_MODEL_VALUE && !choices.defaultModel && <UnsetDefaultWarning message="This agent uses the default model." />}
        {skipped.length > 0 && <Notice kind="warn">{`${skipped.join(' and ')} will be skipped: this model's provider does not offer ${skipped.length > 1 ? 'them' : 'it'}.`}</Notice>}
        <h2>System prompt</h2>
        <div class="panel">{agent.systemPrompt ? <pre class="wrap">{agent.systemPrompt}</pre> : <span class="muted">none</span>}</div>
        {agent.outputSchema && (
          <>
            <h2>Output schema</h2>
            <div class="panel">
              <pre class="wrap" id="agent-output-schema">{JSON.stringify(agent.outputSchema, null, 2)}</pre>
            </div>
          </>
        )}
        <h2>Used by</h2>
        {usedBy.length === 0 ? (
          <p class="muted">No pipeline uses this agent.</p>
        ) : (
          <ul>
            {usedBy.map((pipeline) => (
              <li>
                <a href={`/pipelines/${pipeline.id}`}>{pipeline.name}</a>
              </li>
            ))}
          </ul>
        )}
      </Layout>,
    );
  });

  app.get('/:id/edit', async (c) => {
    const agent = await getAgent(c.get('deps'), c.req.param('id')).catch(notFoundOr);
    if (!agent) return notFoundPage(c, 'Agent');
    return renderForm(c, { title: `Edit ${agent.name}`, action: `/agents/${agent.id}`, agentId: agent.id, draft: draftOf(agent), submitLabel: 'Save agent' });
  });

  app.post('/:id', async (c) => {
    const id = c.req.param('id');
    const draft = draftFromForm(await readForm(c));
    const parsed = toUpdateInput(draft);
    const form = { title: `Edit ${draft.name || 'agent'}`, action: `/agents/${id}`, agentId: id, draft, submitLabel: 'Save agent' };
    if (!parsed.success) return renderForm(c, { ...form, errors: parsed.errors, status: 400 });
    try {
      await updateAgent(c.get('deps'), id, parsed.data);
      return c.redirect(`/agents/${id}?saved=1`, 303);
    } catch (error) {
      const { status, messages } = apiErrorMessages(error);
      return renderForm(c, { ...form, errors: messages, status: status === 404 ? 404 : 400 });
    }
  });

  app.get('/:id/delete', async (c) => {
    const deps = c.get('deps');
    const agent = await getAgent(deps, c.req.param('id')).catch(notFoundOr);
    if (!agent) return notFoundPage(c, 'Agent');
    const usedBy = await pipelinesUsingAgent(deps, agent.id);
    return c.html(
      <Layout title={`Delete ${agent.name}`} session={c.get('session')} section="/agents">
        <h1>{`Delete ${agent.name}?`}</h1>
        {usedBy.length === 0 ? (
          <p>No pipeline uses this agent.</p>
        ) : (
          <Notice kind="warn">
            <p class="flush-top">
              {usedBy.length === 1
                ? 'This pipeline will become orphaned and refuse to run until its steps name an existing agent:'
                : `These ${usedBy.length} pipelines will become orphaned and refuse to run until their steps name an existing agent:`}
            </p>
            <ul id="orphaned-pipelines">
              {usedBy.map((pipeline) => (
                <li>
                  <a href={`/pipelines/${pipeline.id}`}>{pipeline.name}</a>
                </li>
              ))}
            </ul>
          </Notice>
        )}
        <form method="post" action={`/agents/${agent.id}/delete`} class="actions">
          <CsrfField token={c.get('session').csrfToken} />
          <button type="submit" class="danger">
            Delete agent
          </button>
          <a href={`/agents/${agent.id}`}>Keep it</a>
        </form>
      </Layout>,
    );
  });

  app.post('/:id/delete', async (c) => {
    try {
      await deleteAgent(c.get('deps'), c.req.param('id'));
    } catch (error) {
      if (!(error instanceof ApiError && error.status === 404)) throw error;
    }
    return c.redirect('/agents', 303);
  });

  return app;
}
