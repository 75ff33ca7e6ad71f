// The console's one page-wide script: Copy and Download of outputs (components/output-actions.tsx).
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
