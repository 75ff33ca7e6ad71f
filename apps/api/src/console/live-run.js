// The run page's one script: follows the run through the console's event stream
// (/runs/:id/events) and updates the server-rendered step cards. Text is only ever set
// with textContent. When the run ends the page reloads, so the final view is the
// server-rendered one (Markdown output, artifact link), the same as opening it later.
(function followRun(runId) {
  var byId = function (id) { return document.getElementById(id); };
  var setText = function (id, text) { var el = byId(id); if (el) el.textContent = text; };
  var setStatus = function (id, status) {
    var el = byId(id);
    if (!el) return;
    el.textContent = status;
    el.className = 'badge ' + status;
    el.dataset.status = status;
  };
  var number = function (n) { return n.toLocaleString('en-US'); };
  var cost = function (value) {
    if (value === null || value === undefined) return '—';
    var parts = value.split('.');
    return '$' + parts[0] + '.' + (parts[1] || '').replace(/0+$/, '').padEnd(2, '0').slice(0, 6);
  };
  var showText = function (index, text) {
    var output = byId('step-' + index + '-output');
    if (!output) return;
    output.className = 'output streaming';
    output.textContent = text;
  };
  var streamed = {};
  var totals = { inputTokens: 0, outputTokens: 0 };
  var source = new EventSource('/runs/' + encodeURIComponent(runId) + '/events');
  var on = function (type, handle) {
    source.addEventListener(type, function (event) { handle(JSON.parse(event.data)); });
  };

  on('run.started', function () { setStatus('run-status', 'running'); });
  on('step.started', function (data) {
    setStatus('step-' + data.index + '-status', 'running');
    setText('step-' + data.index + '-model', data.provider + ' · ' + data.model);
    streamed[data.index] = '';
  });
  on('step.delta', function (data) {
    streamed[data.index] = (streamed[data.index] || '') + data.text;
    showText(data.index, streamed[data.index]);
  });
  // The provider call was retried after some text arrived: that text is void, the retry streams anew.
  on('step.retry', function (data) {
    streamed[data.index] = '';
    showText(data.index, '');
  });
  on('step.warning', function (data) {
    var item = document.createElement('li');
    item.className = 'notice warn small';
    item.textContent = data.message;
    var list = byId('step-' + data.index + '-warnings');
    if (list) list.append(item);
  });
  on('step.completed', function (data) {
    setStatus('step-' + data.index + '-status', 'succeeded');
    setText('step-' + data.index + '-usage', number(data.usage.inputTokens) + ' in · ' + number(data.usage.outputTokens) + ' out');
    setText('step-' + data.index + '-cost', cost(data.cost));
    totals.inputTokens += data.usage.inputTokens;
    totals.outputTokens += data.usage.outputTokens;
    setText('run-usage', number(totals.inputTokens) + ' in · ' + number(totals.outputTokens) + ' out');
    showText(data.index, data.output);
  });
  var end = function (status) {
    return function () {
      source.close();
      setStatus('run-status', status);
      var cancel = byId('cancel-form');
      if (cancel) cancel.remove();
      window.location.reload();
    };
  };
  on('run.succeeded', end('succeeded'));
  on('run.failed', end('failed'));
  on('run.canceled', end('canceled'));
})(document.currentScript.dataset.runId);
