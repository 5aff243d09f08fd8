// The dashboard page: no framework, no build step. It draws the state the server pushes over
// Server-Sent Events and calls the JSON API for dead letters. Text goes in with textContent only,
// so nothing a task or an exception says can become markup.

const token = new URLSearchParams(location.search).get('token');
const withToken = (path) =>
  token ? `${path}${path.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}` : path;
const letterCounts = new Map();
// The newest listing asked for, per queue: an older answer arriving late is dropped.
const listingSeq = new Map();
let latest = null;

function api(path, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (token) headers.authorization = `Bearer ${token}`;
  return fetch(path, { ...init, headers }).then(async (response) => {
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
    return body;
  });
}

function post(path, body) {
  return api(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (key === 'class') node.className = value;
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false)
      node.setAttribute(key, value === true ? '' : value);
  }
  for (const child of children)
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

const dash = (value) => (value === null || value === undefined ? '-' : String(value));
const ago = (ms) => {
  const seconds = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return seconds < 60 ? `${seconds} s ago` : `${Math.round(seconds / 60)} min ago`;
};
const cell = (field, value, numeric = true) =>
  el('td', { 'data-field': field, class: numeric ? 'num' : '' }, dash(value));

function renderQueues(state) {
  const rows = state.queues.map((q) =>
    el(
      'tr',
      { 'data-queue': q.name, title: q.error || '' },
      el('td', {}, q.name),
      cell('ready', q.ready),
      cell('inFlight', q.inFlight),
      cell('delayed', q.delayed),
      cell('deadLettered', q.deadLettered),
      cell('readyPerSecond', q.readyPerSecond),
    ),
  );
  document.querySelector('#queues tbody').replaceChildren(...rows);
  // Celery's task events do not name the queue: the rates are for every queue together.
  document.getElementById('succeeded-per-minute').textContent = dash(state.rates?.succeededPerMinute);
  document.getElementById('failed-per-minute').textContent = dash(state.rates?.failedPerMinute);
}

function noEvents(state) {
  return `no events on this broker: ${state.transport} cannot carry Celery's events`;
}

function renderWorkers(state) {
  const note = document.getElementById('workers-note');
  if (!state.events) note.textContent = noEvents(state);
  else if (state.workers.length === 0)
    note.textContent = 'no worker has sent an event yet: start workers with --events (-E)';
  else note.textContent = '';
  const rows = state.workers.map((w) =>
    el(
      'tr',
      { 'data-worker': w.hostname },
      el('td', {}, w.hostname),
      el(
        'td',
        { class: w.online ? 'online' : 'offline', 'data-field': 'status' },
        w.online ? 'online' : 'offline',
      ),
      cell('active', w.active),
      cell('processed', w.processed),
      el('td', {}, ago(w.lastSeen)),
      el('td', {}, dash(w.software)),
    ),
  );
  document.querySelector('#workers tbody').replaceChildren(...rows);
}

function renderFailures(state) {
  const note = document.getElementById('failures-note');
  if (!state.events) note.textContent = `${noEvents(state)}; the dead letters below carry their reasons`;
  else if (state.failures.length === 0) note.textContent = 'no failure seen since the dashboard started';
  else note.textContent = '';
  const rows = state.failures.map((f) => {
    const exception = el('td', { 'data-field': 'exception' }, (f.retried ? '(retried) ' : '') + f.exception);
    if (f.traceback)
      exception.append(el('details', {}, el('summary', {}, 'traceback'), el('pre', {}, f.traceback)));
    return el(
      'tr',
      { 'data-failure': f.taskId },
      el('td', {}, new Date(f.at).toLocaleTimeString()),
      el('td', {}, dash(f.task)),
      el('td', {}, el('code', {}, f.taskId)),
      exception,
      el('td', {}, dash(f.hostname)),
    );
  });
  document.querySelector('#failures tbody').replaceChildren(...rows);
}

function deadLetterBox(queue) {
  let box = document.querySelector(`.dlq[data-queue="${CSS.escape(queue.name)}"]`);
  if (box) return box;
  const result = el('span', { class: 'result', 'data-field': 'result' });
  const redrive = el(
    'button',
    { 'data-action': 'redrive', onclick: () => doRedrive(queue.name, result) },
    'Redrive all',
  );
  const purge = el(
    'button',
    { 'data-action': 'purge', class: 'danger', onclick: () => askPurge(queue.name, result) },
    'Purge…',
  );
  box = el(
    'div',
    { class: 'dlq', 'data-queue': queue.name },
    el(
      'h3',
      {},
      el('code', {}, queue.deadLetterQueue),
      el('span', { 'data-field': 'count' }),
      redrive,
      purge,
      result,
    ),
    el('p', { class: 'note', 'data-field': 'readonly' }),
    el(
      'table',
      {},
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ...['key', 'task', 'reason', 'dead-lettered', 'deliveries'].map((h) => el('th', {}, h)),
          el('th', { 'data-field': 'stored-result' }, 'stored result'),
        ),
      ),
      el('tbody'),
    ),
  );
  document.getElementById('dead-letters').append(box);
  return box;
}

function renderDeadLetters(state) {
  for (const queue of state.queues) {
    const box = deadLetterBox(queue);
    box.querySelector('[data-field="count"]').textContent = `${dash(queue.deadLettered)} letters`;
    for (const button of box.querySelectorAll('button')) button.hidden = !state.writable;
    box.querySelector('th[data-field="stored-result"]').hidden = !state.results;
    box.querySelector('[data-field="readonly"]').textContent = state.writable
      ? ''
      : 'read-only: start the dashboard with --allow-redrive-purge to redrive or purge';
    if (letterCounts.get(queue.name) !== queue.deadLettered) {
      letterCounts.set(queue.name, queue.deadLettered);
      loadLetters(queue, box);
    }
  }
}

function loadLetters(queue, box) {
  const body = box.querySelector('tbody');
  const seq = (listingSeq.get(queue.name) || 0) + 1;
  listingSeq.set(queue.name, seq);
  if (!queue.deadLettered) {
    body.replaceChildren();
    return;
  }
  api(`api/dead-letters?queue=${encodeURIComponent(queue.name)}`)
    .then((listing) => {
      if (listingSeq.get(queue.name) !== seq) return;
      body.replaceChildren(
        ...listing.letters.map((l) =>
          el(
            'tr',
            { 'data-letter': l.key },
            el('td', {}, el('code', {}, l.key)),
            el('td', {}, dash(l.task)),
            el('td', {}, dash(l.reason)),
            el('td', {}, l.deadLetteredAt ? new Date(l.deadLetteredAt).toLocaleString() : 'unknown'),
            el('td', { class: 'num' }, l.deliveryCount),
            storedResult(l.result),
          ),
        ),
      );
    })
    .catch((error) =>
      body.replaceChildren(el('tr', {}, el('td', { colspan: 6 }, `cannot list: ${error.message}`))),
    );
}

/** The task's state in the result backend (--results): its exception and traceback when it failed. */
function storedResult(result) {
  const td = el('td', { 'data-field': 'stored-result', hidden: !latest.results });
  if (!result) {
    td.textContent = '-';
    return td;
  }
  td.append(result.exception ? `${result.status}: ${result.exception}` : result.status);
  if (result.traceback)
    td.append(el('details', {}, el('summary', {}, 'traceback'), el('pre', {}, result.traceback)));
  return td;
}

function doRedrive(queue, result) {
  result.textContent = 'redriving…';
  post('api/dead-letters/redrive', { queue })
    .then((r) => {
      result.textContent = `moved ${r.moved}, skipped ${r.skipped}, failed ${r.failed}`;
    })
    .catch((error) => {
      result.textContent = `redrive refused: ${error.message}`;
    });
}

function askPurge(queue, result) {
  const state = latest.queues.find((q) => q.name === queue);
  const dialog = document.getElementById('confirm-purge');
  const input = document.getElementById('purge-input');
  const confirm = document.getElementById('purge-confirm');
  document.getElementById('purge-queue').textContent = state.deadLetterQueue;
  document.getElementById('purge-count').textContent = dash(state.deadLettered);
  input.value = '';
  confirm.disabled = true;
  input.oninput = () => {
    confirm.disabled = input.value !== state.deadLetterQueue;
  };
  dialog.onclose = () => {
    if (dialog.returnValue !== 'confirm') {
      result.textContent = 'purge cancelled: nothing removed';
      return;
    }
    result.textContent = 'purging…';
    post('api/dead-letters/purge', { queue, confirm: input.value })
      .then((r) => {
        result.textContent = `purged ${r.purged}, failed ${r.failed}`;
      })
      .catch((error) => {
        result.textContent = `purge refused: ${error.message}`;
      });
  };
  dialog.showModal();
}

function render(state) {
  latest = state;
  document.getElementById('broker').textContent = `${state.transport} · ${state.broker}`;
  const mode = document.getElementById('mode');
  mode.textContent = state.writable ? 'redrive and purge allowed' : 'read-only';
  renderQueues(state);
  renderWorkers(state);
  renderFailures(state);
  renderDeadLetters(state);
}

function connect() {
  const live = document.getElementById('live');
  const source = new EventSource(withToken('api/stream'));
  source.addEventListener('state', (event) => {
    live.dataset.state = 'live';
    live.textContent = 'live';
    render(JSON.parse(event.data));
  });
  source.onerror = () => {
    live.dataset.state = 'lost';
    live.textContent = 'reconnecting…';
  };
}

connect();
