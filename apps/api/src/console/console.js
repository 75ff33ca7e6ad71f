// The console's one page-wide script: Copy and Download of outputs (components/output-actions.tsx), the JSON check of
// schema fields as they are typed and the "List tools" check of MCP servers (components/agent-tools.tsx).
// Everything else works without JavaScript.
function rawText(id) {
  const source = document.getElementById(id);
  return source ? source.value : '';
}

function flash(button, label) {
  const before = button.dataset.label || button.textContent;
  button.dataset.label = before;
  button.textContent = label;
  setTimeout(() => { button.textContent = before; }, 1500);
}

async function copy(text) {
  if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
  // Plain http on another host has no clipboard API: the older way.
  const area = document.createElement('textarea');
  area.value = text;
  area.setAttribute('readonly', '');
  area.className = 'offscreen';
  document.body.append(area);
  area.select();
  const copied = document.execCommand('copy');
  area.remove();
  if (!copied) throw new Error('copy refused');
}

function download(text, filename) {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/markdown;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy], [data-download]') : null;
  if (!button) return;
  if (button.dataset.copy) {
    copy(rawText(button.dataset.copy)).then(() => flash(button, 'Copied'), () => flash(button, 'Copy failed'));
  } else {
    download(rawText(button.dataset.download), button.dataset.filename || 'output.md');
  }
});

// A JSON Schema field says at once whether what is typed is JSON (the server checks the schema itself on save).
function checkJson(area) {
  const status = area.nextElementSibling;
  if (!status || !status.classList.contains('json-status')) return;
  if (area.value.trim() === '') {
    status.textContent = '';
    return;
  }
  try {
    const value = JSON.parse(area.value);
    status.textContent = value && typeof value === 'object' && !Array.isArray(value) ? 'valid JSON' : 'a JSON Schema is an object';
    status.classList.toggle('bad', !(value && typeof value === 'object' && !Array.isArray(value)));
  } catch (error) {
    status.textContent = `not valid JSON: ${error.message}`;
    status.classList.add('bad');
  }
}
document.addEventListener('input', (event) => {
  if (event.target instanceof HTMLTextAreaElement && event.target.hasAttribute('data-json-check')) checkJson(event.target);
});

// "List tools" of an MCP server: the server's fields as typed go to /agents/mcp-tools, which asks the server.
for (const row of document.querySelectorAll('[data-mcp-list]')) row.hidden = false;

function mcpToolsList(body) {
  const list = document.createElement('ul');
  for (const tool of body.tools) {
    const item = document.createElement('li');
    const name = document.createElement('code');
    name.textContent = tool.name;
    item.append(name, tool.allowed ? ' (allowed)' : ' (not allowed)');
    if (tool.description) item.append(` — ${tool.description}`);
    item.dataset.tool = tool.name;
    item.dataset.allowed = String(tool.allowed);
    list.append(item);
  }
  return list;
}

function mcpToolsNote(text, bad) {
  const note = document.createElement('p');
  note.className = bad ? 'hint bad' : 'hint';
  note.textContent = text;
  return note;
}

async function listMcpTools(button) {
  const fieldset = button.closest('fieldset');
  const output = fieldset.querySelector('.mcp-tools');
  const body = new FormData();
  body.set('_csrf', button.form.querySelector('input[name="_csrf"]').value);
  for (const name of ['mcpUrl', 'mcpAllowedTools', 'mcpHeaders']) body.set(name, fieldset.querySelector(`[name="${name}"]`).value);
  if (button.dataset.agentId) body.set('agentId', button.dataset.agentId);
  button.disabled = true;
  output.replaceChildren(mcpToolsNote('Asking the server…', false));
  try {
    const response = await fetch('/agents/mcp-tools', { method: 'POST', body, credentials: 'same-origin' });
    const answer = response.headers.get('content-type')?.includes('application/json') ? await response.json() : undefined;
    if (!response.ok || !answer || answer.error) {
      output.replaceChildren(mcpToolsNote(`Could not list the tools: ${answer?.error?.message ?? `the console answered ${response.status}`}`, true));
      return;
    }
    const summary = mcpToolsNote(answer.tools.length === 0 ? 'The server has no tools.' : `${answer.tools.length} tool${answer.tools.length === 1 ? '' : 's'}:`, false);
    output.replaceChildren(summary, mcpToolsList(answer), ...answer.warnings.map((warning) => mcpToolsNote(warning, true)));
  } catch (error) {
    output.replaceChildren(mcpToolsNote(`Could not list the tools: ${error.message}`, true));
  } finally {
    button.disabled = false;
  }
}

document.addEventListener('click', (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-mcp-list-button]') : null;
  if (button) listMcpTools(button);
});
