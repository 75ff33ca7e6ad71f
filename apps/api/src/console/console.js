// The console's one page-wide script: Copy and Download of outputs (components/output-actions.tsx), and the JSON check of
// schema fields as they are typed (components/agent-tools.tsx).
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
