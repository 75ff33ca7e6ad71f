/** @jsxRuntime automatic */
/** @jsxImportSource hono/jsx */
import { type AgentTool, builtinTools, defaultMaxTurns, redactedHeaderValue } from '@conveyor/core';
import { field, fields, type FormData } from '../forms.ts';

/** The Tools part of the agent form as typed: built-ins, HTTP tools, MCP servers, output schema, max turns. */
export interface ToolsDraft {
  builtins: string[];
  http: { name: string; description: string; url: string; timeoutSeconds: string; inputSchema: string }[];
  mcp: { url: string; allowedTools: string; headers: string }[];
  outputSchema: string;
  maxTurns: string;
}

export const emptyToolsDraft: ToolsDraft = { builtins: [], http: [], mcp: [], outputSchema: '', maxTurns: '' };

const pretty = (value: unknown) => JSON.stringify(value, null, 2);

export function toolsDraftOf(tools: AgentTool[], outputSchema: Record<string, unknown> | null, maxTurns: number): ToolsDraft {
  return {
    builtins: tools.flatMap((tool) => (typeof tool === 'string' ? [tool] : [])),
    http: tools.flatMap((tool) =>
      typeof tool !== 'string' && tool.type === 'http'
        ? [{ name: tool.name, description: tool.description, url: tool.url, timeoutSeconds: tool.timeoutSeconds ? String(tool.timeoutSeconds) : '', inputSchema: pretty(tool.inputSchema) }]
        : [],
    ),
    mcp: tools.flatMap((tool) =>
      typeof tool !== 'string' && tool.type === 'mcp'
        ? [{ url: tool.url, allowedTools: (tool.allowedTools ?? []).join(', '), headers: Object.entries(tool.headers ?? {}).map(([name, value]) => `${name}: ${value}`).join('\n') }]
        : [],
    ),
    outputSchema: outputSchema ? pretty(outputSchema) : '',
    maxTurns: maxTurns === defaultMaxTurns ? '' : String(maxTurns),
  };
}

/** Parallel repeated fields: browsers post every text field of every row, in document order. */
export function toolsDraftFromForm(form: FormData): ToolsDraft {
  const names = fields(form, 'httpName');
  const descriptions = fields(form, 'httpDescription');
  const urls = fields(form, 'httpUrl');
  const timeouts = fields(form, 'httpTimeout');
  const schemas = fields(form, 'httpSchema');
  const mcpUrls = fields(form, 'mcpUrl');
  const allowed = fields(form, 'mcpAllowedTools');
  const headers = fields(form, 'mcpHeaders');
  return {
    builtins: fields(form, 'tools'),
    http: names
      .map((name, i) => ({ name, description: descriptions[i] ?? '', url: urls[i] ?? '', timeoutSeconds: timeouts[i] ?? '', inputSchema: schemas[i] ?? '' }))
      .filter((row) => [row.name, row.description, row.url, row.timeoutSeconds, row.inputSchema].some((value) => value.trim() !== '')),
    mcp: mcpUrls
      .map((url, i) => ({ url, allowedTools: allowed[i] ?? '', headers: headers[i] ?? '' }))
      .filter((row) => [row.url, row.allowedTools, row.headers].some((value) => value.trim() !== '')),
    outputSchema: field(form, 'outputSchema'),
    maxTurns: field(form, 'maxTurns'),
  };
}

/** The MCP server of one row of the form, as the API takes it, or the messages that say what to fix. */
export function mcpServerInput(row: ToolsDraft['mcp'][number]): { server: Record<string, unknown>; errors: string[] } {
  const { tools, errors } = toolsInput({ ...emptyToolsDraft, mcp: [row] });
  const { type: _type, ...server } = tools[0] as Record<string, unknown>;
  return { server, errors };
}

/** The API input of the draft, or the messages that say what to fix (JSON that does not parse, a header line without a colon). */
export function toolsInput(draft: ToolsDraft): { tools: unknown[]; outputSchema: unknown; maxTurns: number | string | undefined; errors: string[] } {
  const errors: string[] = [];
  const json = (text: string, label: string): unknown => {
    try {
      return JSON.parse(text);
    } catch (error) {
      errors.push(`${label}: not valid JSON (${(error as Error).message})`);
      return undefined;
    }
  };
  const tools: unknown[] = [...draft.builtins];
  draft.http.forEach((row, i) => {
    const label = `HTTP tool ${row.name.trim() || i + 1}`;
    tools.push({
      type: 'http',
      name: row.name.trim(),
      description: row.description,
      url: row.url.trim(),
      inputSchema: row.inputSchema.trim() ? json(row.inputSchema, `${label}, input schema`) : { type: 'object', properties: {} },
      ...(row.timeoutSeconds.trim() ? { timeoutSeconds: Number(row.timeoutSeconds) } : {}),
    });
  });
  draft.mcp.forEach((row, i) => {
    const allowedTools = row.allowedTools.split(',').map((name) => name.trim()).filter(Boolean);
    const headers: Record<string, string> = {};
    for (const line of row.headers.split('\n').map((value) => value.trim()).filter(Boolean)) {
      const colon = line.indexOf(':');
      if (colon <= 0) {
        errors.push(`MCP server ${i + 1}, headers: write one "Name: value" per line`);
        continue;
      }
      headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
    }
    tools.push({ type: 'mcp', url: row.url.trim(), ...(allowedTools.length ? { allowedTools } : {}), ...(Object.keys(headers).length ? { headers } : {}) });
  });
  const outputSchema = draft.outputSchema.trim() ? json(draft.outputSchema, 'Output schema') : null;
  const maxTurns = draft.maxTurns.trim() === '' ? undefined : Number.isFinite(Number(draft.maxTurns)) ? Number(draft.maxTurns) : draft.maxTurns;
  return { tools, outputSchema, maxTurns, errors };
}

const schemaPlaceholder = '{"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}';

function HttpToolFields({ row, index }: { row: ToolsDraft['http'][number]; index: number }) {
  const id = `http-${index}`;
  return (
    <fieldset class="tool" data-tool="http">
      <legend>{row.name ? `HTTP tool ${row.name}` : 'New HTTP tool'}</legend>
      <label for={`${id}-name`}>Name</label>
      <input id={`${id}-name`} type="text" name="httpName" value={row.name} maxlength={64} placeholder="get_weather" />
      <label for={`${id}-description`}>Description (for the model)</label>
      <input id={`${id}-description`} type="text" name="httpDescription" value={row.description} maxlength={4000} />
      <label for={`${id}-url`}>URL (Conveyor POSTs {'{runId, stepIndex, toolCallId, name, input}'}, signed like webhooks)</label>
      <input id={`${id}-url`} type="url" name="httpUrl" value={row.url} placeholder="https://tools.example.com/weather" />
      <label for={`${id}-timeout`}>Timeout (seconds)</label>
      <input id={`${id}-timeout`} type="number" name="httpTimeout" min="1" max="600" step="1" value={row.timeoutSeconds} placeholder="30" />
      <label for={`${id}-schema`}>Input schema (JSON Schema of the arguments object)</label>
      <textarea id={`${id}-schema`} name="httpSchema" rows={5} class="mono" data-json-check placeholder={schemaPlaceholder}>
        {row.inputSchema}
      </textarea>
      <p class="hint json-status" aria-live="polite"></p>
    </fieldset>
  );
}

function McpServerFields({ row, index, agentId }: { row: ToolsDraft['mcp'][number]; index: number; agentId: string | undefined }) {
  const id = `mcp-${index}`;
  return (
    <fieldset class="tool" data-tool="mcp">
      <legend>{row.url ? `MCP server ${row.url}` : 'New MCP server'}</legend>
      <label for={`${id}-url`}>URL (Streamable HTTP)</label>
      <input id={`${id}-url`} type="url" name="mcpUrl" value={row.url} placeholder="https://mcp.example.com/mcp" />
      <label for={`${id}-allowed`}>Allowed tools (comma-separated; empty: all)</label>
      <input id={`${id}-allowed`} type="text" name="mcpAllowedTools" value={row.allowedTools} placeholder="search, fetch_page" />
      <label for={`${id}-headers`}>Headers (one "Name: value" per line; stored encrypted, shown as {redactedHeaderValue}, which keeps the stored value)</label>
      <textarea id={`${id}-headers`} name="mcpHeaders" rows={2} class="mono" autocomplete="off" placeholder="Authorization: Bearer …">
        {row.headers}
      </textarea>
      {/* Needs the script (console.js), which shows the button; a [redacted] header is read from the stored agent. */}
      <div class="actions" data-mcp-list hidden>
        <button type="button" class="secondary" data-mcp-list-button {...(agentId ? { 'data-agent-id': agentId } : {})}>
          List tools
        </button>
      </div>
      <div class="mcp-tools" aria-live="polite"></div>
    </fieldset>
  );
}

/** The Tools section of the agent form. One blank HTTP tool and one blank MCP server are always there to fill in. */
export function AgentToolsFields({ draft, toolNotes, agentId }: { draft: ToolsDraft; toolNotes: string[]; agentId?: string | undefined }) {
  const blankHttp = { name: '', description: '', url: '', timeoutSeconds: '', inputSchema: '' };
  const blankMcp = { url: '', allowedTools: '', headers: '' };
  return (
    <section id="agent-tools">
      <h2>Tools</h2>
      <fieldset class="plain">
        <legend class="strong">Built-in tools</legend>
        {builtinTools.map((tool) => (
          <label class="inline">
            <input type="checkbox" name="tools" value={tool} checked={draft.builtins.includes(tool)} />
            <code>{tool}</code>
          </label>
        ))}
        {toolNotes.map((note) => (
          <p class="hint">{note}</p>
        ))}
      </fieldset>
      <p class="hint">Clear every field of a tool or server to remove it.</p>
      {[...draft.http, blankHttp].map((row, index) => (
        <HttpToolFields row={row} index={index} />
      ))}
      {[...draft.mcp, blankMcp].map((row, index) => (
        <McpServerFields row={row} index={index} agentId={agentId} />
      ))}
      <label for="maxTurns">Max turns</label>
      <input id="maxTurns" type="number" name="maxTurns" min="1" max="100" step="1" value={draft.maxTurns} placeholder={String(defaultMaxTurns)} />
      <h2>Output schema</h2>
      <label for="outputSchema">JSON Schema the answer must match (empty: a text answer)</label>
      <textarea id="outputSchema" name="outputSchema" rows={6} class="mono" data-json-check placeholder='{"type": "object", "properties": {"score": {"type": "integer"}}, "required": ["score"]}'>
        {draft.outputSchema}
      </textarea>
      <p class="hint json-status" aria-live="polite"></p>
    </section>
  );
}

/** One line per tool for lists and the agent page. */
export function toolSummary(tools: AgentTool[]): string {
  return tools
    .map((tool) => (typeof tool === 'string' ? tool : tool.type === 'http' ? `${tool.name} (HTTP)` : `MCP ${tool.url}${tool.allowedTools ? ` (${tool.allowedTools.join(', ')})` : ''}`))
    .join(', ');
}
