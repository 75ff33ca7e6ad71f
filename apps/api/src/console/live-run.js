// The live run page: follows the run through the console's event stream (/runs/:id/events) and
// updates the server-rendered step cards. Text renders with the same Markdown library and rules
// as the server (markdown-renderer.js), so it looks the same while it streams and at the end; the
// page does not reload at the end, so a canceled run keeps the text it had streamed.
import { Marked } from './marked.esm.js';
import { markdownExtension, markdownOptions } from './markdown-renderer.js';

const markdown = new Marked(markdownOptions).use(markdownExtension);
const runId = document.getElementById('live-run').dataset.runId;
const byId = (id) => document.getElementById(id);
const setText = (id, text) => {
  const element = byId(id);
  if (element) element.textContent = text;
};
const setStatus = (id, status) => {
  const element = byId(id);
  if (!element) return;
  element.textContent = status;
  element.className = `badge ${status}`;
  element.dataset.status = status;
};
const number = (n) => n.toLocaleString('en-US');
const tokens = (usage) => `${number(usage.inputTokens)} in · ${number(usage.outputTokens)} out`;
/** Every digit the API gives, at least two decimals (the same as format.ts). */
const cost = (value) => {
  if (value === null || value === undefined) return '—';
  const [whole, fraction = ''] = value.split('.');
  return `$${whole}.${fraction.replace(/0+$/, '').padEnd(2, '0')}`;
};
/** Exact sum of two decimal strings. */
const addDecimals = (a, b) => {
  const scale = Math.max((a.split('.')[1] || '').length, (b.split('.')[1] || '').length);
  const scaled = (v) => {
    const [whole, fraction = ''] = v.split('.');
    return BigInt(whole + fraction.padEnd(scale, '0'));
  };
  const digits = (scaled(a) + scaled(b)).toString().padStart(scale + 1, '0');
  return scale === 0 ? digits : `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
};
const duration = (ms) => {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const seconds = ms / 1000;
  return seconds < 60 ? `${seconds.toFixed(1)} s` : `${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`;
};
/** Stream entry ids are `<ms>-<seq>`: when the event was written. A history rebuilt from Postgres has `0-n`. */
const writtenAt = (eventId) => {
  const match = /^(\d+)-\d+$/.exec(eventId || '');
  return match && match[1] !== '0' ? Number(match[1]) : null;
};

const steps = new Map();
const step = (index) => {
  if (!steps.has(index)) steps.set(index, { text: '', startedAt: null, shownAt: null, firstTokenAt: null, usageShown: false, renderQueued: false, status: 'pending' });
  return steps.get(index);
};
const totals = { inputTokens: 0, outputTokens: 0, cost: '0', costKnown: true };

function showOutput(target, text) {
  const output = byId(target);
  if (output) {
    output.className = 'output';
    output.innerHTML = markdown.parse(text);
  }
  const raw = byId(`${target}-raw`);
  if (raw) raw.value = text;
  const actions = byId(`${target}-actions`);
  if (actions) actions.classList.toggle('empty-output', text === '');
}

function render(index) {
  const state = step(index);
  if (state.renderQueued) return;
  state.renderQueued = true;
  requestAnimationFrame(() => {
    state.renderQueued = false;
    showOutput(`step-${index}-output`, state.text);
  });
}

// The running step's duration ticks while it runs (on this page's clock).
setInterval(() => {
  for (const [index, state] of steps) {
    if (state.status === 'running' && state.shownAt !== null) setText(`step-${index}-duration`, duration(performance.now() - state.shownAt));
  }
}, 250);

const source = new EventSource(`/runs/${encodeURIComponent(runId)}/events`);
const on = (type, handle) => source.addEventListener(type, (event) => handle(JSON.parse(event.data), event.lastEventId));

on('run.started', () => setStatus('run-status', 'running'));
on('step.started', (data, eventId) => {
  // Past events are replayed when the page opens: only a step after the one waiting means the run went on.
  const panel = byId('approval-panel');
  if (panel && data.index > Number(panel.dataset.index)) {
    panel.remove();
    if (byId('run-status')?.dataset.status === 'waiting') setStatus('run-status', 'running');
  }
  const state = step(data.index);
  state.status = 'running';
  state.startedAt = writtenAt(eventId);
  state.shownAt = performance.now();
  state.text = '';
  setStatus(`step-${data.index}-status`, 'running');
  setText(`step-${data.index}-model`, `${data.provider} · ${data.model}`);
  setText(`step-${data.index}-usage`, 'streaming…');
});
on('step.delta', (data, eventId) => {
  const state = step(data.index);
  if (state.firstTokenAt === null) {
    state.firstTokenAt = writtenAt(eventId);
    const ttft = state.startedAt !== null && state.firstTokenAt !== null ? state.firstTokenAt - state.startedAt : state.shownAt !== null ? performance.now() - state.shownAt : null;
    if (ttft !== null) setText(`step-${data.index}-ttft`, `first token ${duration(ttft)}`);
  }
  state.text += data.text;
  // Usage and cost so far, sent with some deltas; "≈" while tokens not yet reported are estimated.
  const approximately = data.estimated ? '≈ ' : '';
  if (data.usage) setText(`step-${data.index}-usage`, `${approximately}${tokens(data.usage)}`);
  else if (!state.usageShown) setText(`step-${data.index}-usage`, `streaming… ${number(state.text.length)} characters`);
  if (data.usage) state.usageShown = true;
  if (data.cost !== undefined && data.cost !== null) setText(`step-${data.index}-cost`, `${approximately}${cost(data.cost)}`);
  render(data.index);
});
// The provider call was retried after some text arrived: that text is void, the retry streams it anew.
on('step.retry', (data) => {
  const state = step(data.index);
  state.text = '';
  state.usageShown = false;
  setText(`step-${data.index}-usage`, `retrying (attempt ${data.attempt})…`);
  render(data.index);
});
on('step.warning', (data) => {
  const item = document.createElement('li');
  item.className = 'notice warn small';
  item.textContent = data.message;
  const list = byId(`step-${data.index}-warnings`);
  if (list) list.append(item);
});
on('step.completed', (data, eventId) => {
  const state = step(data.index);
  state.status = 'succeeded';
  const endedAt = writtenAt(eventId);
  if (state.startedAt !== null && endedAt !== null) setText(`step-${data.index}-duration`, duration(endedAt - state.startedAt));
  else if (state.shownAt !== null) setText(`step-${data.index}-duration`, duration(performance.now() - state.shownAt));
  setStatus(`step-${data.index}-status`, 'succeeded');
  if (typeof data.timeToFirstTokenMs === 'number') setText(`step-${data.index}-ttft`, `first token ${duration(data.timeToFirstTokenMs)}`);
  if (data.provider && data.model) setText(`step-${data.index}-model`, `${data.provider} · ${data.model}`);
  setText(`step-${data.index}-usage`, tokens(data.usage));
  setText(`step-${data.index}-cost`, cost(data.cost));
  totals.inputTokens += data.usage.inputTokens;
  totals.outputTokens += data.usage.outputTokens;
  if (data.cost === null) totals.costKnown = false;
  else totals.cost = addDecimals(totals.cost, data.cost);
  setText('run-usage', tokens(totals));
  setText('run-cost', totals.costKnown ? cost(totals.cost) : '—');
  state.text = typeof data.output === 'string' ? data.output : JSON.stringify(data.output, null, 2);
  render(data.index);
});

// Tool calls of a step that acts: each turn is a collapsible group, each call shows its input, then its result.
const element = (tag, className, text) => {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
};
const pretty = (value) => (typeof value === 'string' ? value : JSON.stringify(value, null, 2));
function turnGroup(index, turn) {
  const id = `step-${index}-turn-${turn}`;
  let group = byId(id);
  if (group) return group;
  const turns = byId(`step-${index}-turns`);
  if (!turns) return null;
  turns.classList.remove('empty');
  group = element('details', 'turn');
  group.id = id;
  group.open = true;
  const summary = element('summary', '', `Turn ${turn} `);
  summary.append(element('span', 'muted small', 'tool calls'));
  group.append(summary, element('div', 'tool-calls'));
  turns.append(group);
  return group;
}
on('step.tool_call', (data) => {
  const group = turnGroup(data.index, data.turn);
  if (!group || group.querySelector(`[data-tool-call-id="${CSS.escape(data.toolCallId)}"]`)) return;
  const call = element('details', 'tool-call running');
  call.dataset.toolCallId = data.toolCallId;
  const summary = element('summary');
  summary.append(element('code', '', data.name), ' ', element('span', 'badge running', 'running'), ' ', element('span', 'muted small tool-duration', ''));
  call.append(summary, element('h4', '', 'Input'), element('pre', 'wrap tool-input', pretty(data.input)), element('h4', 'tool-output-label', 'Result'), element('pre', 'wrap tool-output', '…'));
  group.querySelector('.tool-calls').append(call);
});
on('step.tool_result', (data) => {
  const call = document.querySelector(`#step-${data.index}-turns [data-tool-call-id="${CSS.escape(data.toolCallId)}"]`);
  if (!call) return;
  call.className = `tool-call${data.isError ? ' error' : ''}`;
  const badge = call.querySelector('.badge');
  badge.className = `badge ${data.isError ? 'failed' : 'succeeded'}`;
  badge.textContent = data.isError ? 'error' : 'ok';
  call.querySelector('.tool-duration').textContent = duration(data.durationMs);
  call.querySelector('.tool-output-label').textContent = data.isError ? 'Error' : 'Result';
  call.querySelector('.tool-output').textContent = pretty(data.output);
});

/** The step that was running when the run ended takes the run's end status; its text stays. */
function endRunningSteps(status) {
  for (const [index, state] of steps) {
    if (state.status !== 'running') continue;
    state.status = status;
    setStatus(`step-${index}-status`, status);
    if (state.shownAt !== null) setText(`step-${index}-duration`, duration(performance.now() - state.shownAt));
    if (byId(`step-${index}-usage`)?.textContent.startsWith('streaming')) setText(`step-${index}-usage`, '');
  }
}

function end(status) {
  source.close();
  setStatus('run-status', status);
  byId('cancel-form')?.remove();
  endRunningSteps(status);
}
on('run.succeeded', (data) => {
  end('succeeded');
  setText('run-usage', tokens(data.usage));
  setText('run-cost', cost(data.cost));
  if (data.output !== undefined) {
    showOutput('final-output', typeof data.output === 'string' ? data.output : JSON.stringify(data.output, null, 2));
    byId('final-output-section')?.classList.remove('empty-output');
  }
  const artifact = byId('run-artifact');
  if (artifact && data.artifactId) {
    const link = document.createElement('a');
    link.className = 'button';
    link.href = `/artifacts/${encodeURIComponent(data.artifactId)}`;
    link.textContent = 'Open the artifact';
    artifact.replaceChildren(link);
  }
});
on('run.failed', (data) => {
  end('failed');
  const error = data.error || {};
  const box = byId('run-error');
  if (box) {
    const notice = document.createElement('div');
    notice.className = 'notice error';
    notice.setAttribute('role', 'alert');
    notice.textContent = `${typeof error.step === 'number' ? `step ${error.step + 1}: ` : ''}${error.code}: ${error.message}`;
    box.replaceChildren(notice);
  }
});
on('run.canceled', () => end('canceled'));

// The run reached an approval step after this page was rendered: the page with the approval form replaces it.
on('run.waiting', (data) => {
  if (byId(`step-${data.index}-status`)?.dataset.status === 'pending') location.reload();
});

// Cancel without leaving the page, so the text streamed so far stays in view.
const cancelForm = byId('cancel-form');
cancelForm?.addEventListener('submit', (event) => {
  event.preventDefault();
  const button = cancelForm.querySelector('button');
  if (button) button.disabled = true;
  fetch(cancelForm.action, { method: 'POST', body: new URLSearchParams(new FormData(cancelForm)), redirect: 'manual' }).then(() => {
    const notice = document.createElement('div');
    notice.className = 'notice ok';
    notice.setAttribute('role', 'status');
    notice.textContent = 'Cancel requested: the step in flight is being stopped.';
    byId('run-notice')?.replaceChildren(notice);
  }, () => {
    if (button) button.disabled = false;
  });
});
