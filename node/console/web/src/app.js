// The node's web console: pages over /console/api/ (docs/CONSOLE.md). The token lives in
// this tab's sessionStorage and travels only in the Authorization header; pages are picked by
// the URL's fragment, which never holds it. Everything a record or a peer says is put in as
// text, never as markup.
import { custodyGraph, keyLabel, meshPicture } from './graph.js';
import { verifyBundle } from './proof.js';
import { formatTime } from './wire.js';

const TOKEN_KEY = 'threatmesh-console-token';
const main = () => document.getElementById('main');

// el('td', {class: 'x'}, 'text', child, ...): an element with attributes and children.
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (k === 'data') Object.assign(e.dataset, v);
    else e.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function show(...children) {
  main().replaceChildren(
    ...children.flat().filter((c) => c !== null && c !== undefined && c !== false),
  );
}

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

// GET /console/api/PATH with the token; the parsed answer, or ApiError with the node's words.
async function api(path, params = {}) {
  const entries = params instanceof URLSearchParams ? [...params] : Object.entries(params);
  const query = new URLSearchParams(entries.filter(([, v]) => v !== '' && v !== undefined));
  // (toString, not .size: browsers before 2023 have no URLSearchParams.size.)
  const qs = query.toString();
  const response = await fetch(`/console/api/${path}${qs ? `?${qs}` : ''}`, {
    headers: {
      Authorization: `Bearer ${sessionStorage.getItem(TOKEN_KEY) ?? ''}`,
      Accept: 'application/json',
    },
    cache: 'no-store',
    credentials: 'omit',
  });
  const text = await response.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: text.slice(0, 300) };
  }
  if (!response.ok) throw new ApiError(response.status, body?.error ?? `HTTP ${response.status}`);
  return { body, text };
}

function errorBox(e) {
  if (e instanceof ApiError && e.status === 401) {
    sessionStorage.removeItem(TOKEN_KEY);
    loginPage(`The node refused the token: ${e.message}`);
    return null;
  }
  const words =
    e instanceof ApiError && e.status === 403
      ? `Your token's role does not allow this page: ${e.message}`
      : e.message;
  return el('p', { class: 'error', role: 'alert' }, words);
}

async function guarded(fn) {
  try {
    await fn();
  } catch (e) {
    const box = errorBox(e);
    if (box) show(box);
  }
}

// ---- login ---------------------------------------------------------------------------

let session = null;

function loginPage(message = '') {
  session = null;
  document.getElementById('nav').hidden = true;
  const input = el('input', {
    type: 'password',
    id: 'token',
    name: 'token',
    autocomplete: 'off',
    size: 48,
    required: '',
  });
  const form = el(
    'form',
    {
      id: 'login',
      onsubmit: (ev) => {
        ev.preventDefault();
        login(input.value.trim());
      },
    },
    el('h2', {}, 'Log in'),
    el(
      'p',
      {},
      'Paste an API token of this node (threatmesh token create NAME --role read). It stays in this tab and is sent only in a header.',
    ),
    message ? el('p', { class: 'error', id: 'login-error', role: 'alert' }, message) : null,
    el('label', { for: 'token' }, 'Token '),
    input,
    ' ',
    el('button', { type: 'submit' }, 'Log in'),
    el(
      'p',
      {},
      el('a', { href: '#/offline' }, 'Verify a proof bundle offline'),
      ' (no token needed: nothing leaves this browser).',
    ),
  );
  show(form);
  input.focus();
}

async function login(token) {
  sessionStorage.setItem(TOKEN_KEY, token);
  try {
    const { body } = await api('session');
    session = body;
    renderNav();
    if (!location.hash || location.hash === '#/login') location.hash = '#/search';
    else route();
  } catch (e) {
    sessionStorage.removeItem(TOKEN_KEY);
    loginPage(
      e instanceof ApiError && e.status === 401
        ? `The node refused the token: ${e.message}`
        : `The node could not be asked: ${e.message}`,
    );
  }
}

function renderNav() {
  const nav = document.getElementById('nav');
  nav.hidden = false;
  nav.replaceChildren(
    ...[
      ['#/search', 'Search'],
      ['#/violations', 'Violations'],
      ['#/peers', 'Peers'],
      ['#/audit', 'Audit trail'],
      ['#/offline', 'Verify a bundle'],
    ].map(([href, text]) => el('a', { href }, text)),
    el(
      'span',
      { class: 'who' },
      `${session.node.fingerprint} · ${session.caller.name} (${session.caller.role})`,
    ),
    el(
      'button',
      {
        type: 'button',
        id: 'logout',
        onclick: () => {
          sessionStorage.removeItem(TOKEN_KEY);
          loginPage('Logged out.');
        },
      },
      'Log out',
    ),
  );
}

// The filled-in fields of a form ([name, input] pairs) as query parameters; a repeatable
// filter's comma-separated values as one parameter each.
function formParams(inputs) {
  const p = new URLSearchParams();
  for (const [n, i] of inputs) {
    const values = REPEATABLE.includes(n) ? i.value.split(',') : [i.value];
    for (const v of values) if (v.trim()) p.append(n, v.trim());
  }
  return p;
}

// ---- search ----------------------------------------------------------------------------

const QUERIES = [
  ['domain-suffix', 'domain (and names under it)'],
  ['ip', 'IP address or network'],
  ['tag', 'tag'],
  ['kind', 'kind'],
  ['value', 'indicator value (with type)'],
  ['author', 'author key (with since / until)'],
];
const REPEATABLE = ['only-kind', 'with-tag'];
const FILTERS = [
  ['type', 'indicator type (with value)'],
  ['since', 'since (with author)'],
  ['until', 'until (with author)'],
  ['only-kind', 'only kinds (a,b)'],
  ['max-tlp', 'TLP up to'],
  ['with-tag', 'with tags (a,b)'],
  ['by', 'by author key'],
  ['created-from', 'created from'],
  ['created-to', 'created to'],
  ['limit', 'records per page'],
];

function searchPage(params) {
  const which = el(
    'select',
    { id: 'query-kind', name: 'query' },
    QUERIES.map(([v, t]) => el('option', { value: v }, t)),
  );
  const value = el('input', { id: 'query-value', name: 'q', size: 40 });
  const filterInputs = FILTERS.map(([name, text]) => [
    name,
    el('input', { id: `f-${name}`, name, size: 18, placeholder: text, title: `--${name}` }),
  ]);
  which.value = QUERIES.find(([v]) => params.has(v))?.[0] ?? 'domain-suffix';
  value.value = params.get(which.value) ?? '';
  for (const [name, input] of filterInputs) input.value = params.getAll(name).join(',');
  const results = el('div', { id: 'results' });
  const form = el(
    'form',
    {
      id: 'search',
      onsubmit: (ev) => {
        ev.preventDefault();
        const p = formParams(filterInputs);
        p.set(which.value, value.value.trim());
        location.hash = `#/search?${p}`;
      },
    },
    el('h2', {}, 'Search records'),
    el(
      'p',
      { class: 'hint' },
      'The filters of threatmesh search: one query, then any filters (dates as 2026-11-28 or 2026-11-28T04:05:07Z).',
    ),
    which,
    ' ',
    value,
    ' ',
    el('button', { type: 'submit' }, 'Search'),
    el(
      'div',
      { class: 'filters' },
      filterInputs.map(([, i]) => i),
    ),
  );
  show(form, results);
  if ([...params.keys()].length > 0) guarded(() => runSearch(params, results));
}

async function runSearch(params, results) {
  const { body } = await api('search', params);
  const rows = body.records.map((r) =>
    el(
      'tr',
      { data: { id: r.id } },
      el('td', {}, el('a', { href: `#/record/${r.id}`, class: 'mono' }, r.id.slice(0, 16) + '…')),
      el('td', {}, r.created_at),
      el('td', { class: `tlp tlp-${r.tlp.toLowerCase().replace('+', '-')}` }, `TLP:${r.tlp}`),
      el('td', {}, r.summary),
      el('td', { class: 'mono' }, r.fingerprint),
      el('td', {}, statusWords(r).join('; ') || 'current'),
    ),
  );
  results.replaceChildren(
    el('p', { id: 'result-count' }, `${body.records.length} record(s)`),
    el(
      'table',
      { id: 'records' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['record', 'created', 'TLP', 'what', 'author', 'status'].map((h) => el('th', {}, h)),
        ),
      ),
      el('tbody', {}, rows),
    ),
    body.next_page_token
      ? el(
          'button',
          {
            type: 'button',
            id: 'next-page',
            onclick: () => {
              params.set('page-token', body.next_page_token);
              location.hash = `#/search?${params}`;
            },
          },
          'Next page',
        )
      : null,
  );
}

function statusWords(r) {
  const out = [];
  if (r.retracted_by) out.push(`retracted by ${r.retracted_by.slice(0, 12)}…`);
  if (r.superseded_by) out.push(`superseded by ${r.superseded_by.slice(0, 12)}…`);
  if (r.distrusted_by) out.push(`author's key distrusted (${r.distrusted_by.slice(0, 12)}…)`);
  return out;
}

// ---- a record and its custody ------------------------------------------------------------

async function recordPage(id) {
  show(el('p', {}, 'Loading…'));
  const { body } = await api('record', { id });
  const r = body.record;
  const verdict = verifyBundle(JSON.stringify(body.bundle));
  const fields = [
    ['id', r.id],
    ['what', r.summary],
    ['TLP', `TLP:${r.tlp}`],
    ['author', `${r.fingerprint}  ${r.author}`],
    ['created', r.created_at],
    ['status', statusWords(body).join('; ') || 'current: not retracted or superseded'],
  ];
  show(
    el('h2', {}, r.summary),
    el(
      'table',
      { class: 'fields', id: 'fields' },
      fields.map(([k, v]) =>
        el(
          'tr',
          {},
          el('th', {}, k),
          el('td', { class: k === 'id' || k === 'author' ? 'mono' : '' }, v),
        ),
      ),
    ),
    verifiedBox(
      verdict,
      "This node checked the author's signature and every hop when the record arrived; this browser checked them again from its proof bundle:",
    ),
    el('h3', {}, 'Custody'),
    verdict.record
      ? el('div', { class: 'graph', id: 'custody' }, custodyGraph(verdict))
      : el('p', {}, 'No graph: the bundle does not verify.'),
    downloadButton(body.bundle, `${r.id}.proof.json`),
    el('h3', {}, 'Payload'),
    el('pre', { id: 'payload' }, JSON.stringify(r.body, null, 2)),
  );
}

function verifiedBox(v, intro) {
  const ok = v.verdict === 'valid';
  const words = ok
    ? v.kind === 'violation'
      ? 'VIOLATION PROVEN: every signature verifies'
      : `VALID: the author's signature and ${v.chains.reduce((n, c) => n + c.hops.length, 0)} signed hop(s) verify`
    : v.verdict === 'invalid'
      ? `INVALID: ${v.failures.length} check(s) failed`
      : 'UNUSABLE: not a proof bundle this console reads';
  const breaches = v.chains?.filter((c) => c.breach) ?? [];
  return el(
    'div',
    { class: `verdict ${ok ? 'ok' : 'bad'}`, id: 'verdict', data: { verdict: v.verdict } },
    intro ? el('p', {}, intro) : null,
    el('p', { class: 'verdict-line' }, words),
    breaches.map((c) =>
      el(
        'p',
        { class: 'breach', data: { relay: c.breach.relay } },
        `Relay ${keyLabel(c.breach.relay, v.names)} broke the author's handling at hop ${c.breach.hop + 1}: ${c.breach.rule}.`,
      ),
    ),
    v.marks?.length
      ? el(
          'p',
          { class: 'withdrawn' },
          v.marks
            .map(
              (m) =>
                `${m.type === 'retraction' ? 'Retracted' : 'Superseded'} by its author (record ${m.id.slice(0, 16)}…, ${formatTime(m.at)}).`,
            )
            .join(' '),
        )
      : null,
    v.failures.length
      ? el(
          'ul',
          { class: 'failures' },
          v.failures.map((f) =>
            el(
              'li',
              {},
              `${f.element}: ${f.message}${f.key ? ` (key ${keyLabel(f.key, v.names ?? {})})` : ''}`,
            ),
          ),
        )
      : null,
  );
}

function downloadButton(bundle, name) {
  return el(
    'button',
    {
      type: 'button',
      onclick: () => {
        const a = el('a', {
          href: URL.createObjectURL(
            new Blob([JSON.stringify(bundle, null, 1)], { type: 'application/json' }),
          ),
          download: name,
        });
        a.click();
        setTimeout(() => URL.revokeObjectURL(a.href), 1000);
      },
    },
    'Download the proof bundle',
  );
}

// ---- violations --------------------------------------------------------------------------

async function violationsPage() {
  const { body } = await api('violations');
  show(
    el('h2', {}, 'Violations received'),
    el(
      'p',
      { class: 'hint' },
      "Copies a peer sent against the author's handling, kept as evidence signed by the relay that broke it.",
    ),
    body.violations.length === 0
      ? el('p', {}, 'None.')
      : el(
          'table',
          { id: 'violations' },
          el(
            'thead',
            {},
            el(
              'tr',
              {},
              ['record', 'relay', 'hop', 'rule'].map((h) => el('th', {}, h)),
            ),
          ),
          el(
            'tbody',
            {},
            body.violations.map((x) =>
              el(
                'tr',
                {},
                el(
                  'td',
                  {},
                  el(
                    'a',
                    { href: `#/violation/${x.record_id}`, class: 'mono' },
                    x.record_id.slice(0, 16) + '…',
                  ),
                ),
                el(
                  'td',
                  {},
                  x.offender_name
                    ? `${x.offender_name} (${x.offender_fingerprint})`
                    : x.offender_fingerprint,
                ),
                el('td', {}, String(x.offender_hop + 1)),
                el('td', {}, x.rule),
              ),
            ),
          ),
        ),
  );
}

async function violationPage(id) {
  const { body } = await api('proof', { id, violation: '1' });
  const v = verifyBundle(JSON.stringify(body));
  show(
    el('h2', {}, `Violation evidence for ${id.slice(0, 16)}…`),
    verifiedBox(v, 'Checked in this browser from the evidence the node kept:'),
    v.record ? el('div', { class: 'graph', id: 'custody' }, custodyGraph(v)) : null,
    downloadButton(body, `${id}.violation.json`),
  );
}

// ---- peers and the mesh -------------------------------------------------------------------

async function peersPage() {
  const { body } = await api('peers');
  const refused = (p) =>
    Object.entries(p.refused)
      .map(([k, n]) => `${k}: ${n}`)
      .join(', ') || '—';
  show(
    el('h2', {}, 'Peers'),
    el('div', { class: 'graph', id: 'mesh' }, meshPicture(body.self, body.peers)),
    el(
      'table',
      { id: 'peers' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          [
            'peer',
            'state',
            'sent',
            'received',
            'duplicates',
            'lag',
            'violations',
            'refused by reason',
            'last error',
          ].map((h) => el('th', {}, h)),
        ),
      ),
      el(
        'tbody',
        {},
        body.peers.map((p) =>
          el(
            'tr',
            { data: { peer: p.name } },
            el('td', {}, `${p.name} (${p.fingerprint})`),
            el(
              'td',
              { class: p.connected ? 'up' : 'down' },
              p.connected ? `connected since ${formatTime(p.connected_since)}` : 'not connected',
            ),
            el('td', {}, String(p.sent)),
            el('td', {}, String(p.received)),
            el('td', {}, String(p.duplicates)),
            el('td', {}, String(p.lag)),
            el('td', {}, String(p.violations)),
            el('td', {}, refused(p)),
            el('td', {}, p.last_error || '—'),
          ),
        ),
      ),
    ),
    Object.keys(body.handshakes_refused ?? {}).length
      ? el(
          'p',
          {},
          `Handshakes refused: ${Object.entries(body.handshakes_refused)
            .map(([k, n]) => `${k}: ${n}`)
            .join(', ')}`,
        )
      : null,
  );
}

// ---- the audit trail ------------------------------------------------------------------------

async function auditPage(params) {
  const inputs = [
    ['who', 'token name'],
    ['method', 'method contains'],
    ['record', 'record id'],
    ['code', 'status code'],
  ].map(([n, t]) => {
    const i = el('input', { name: n, id: `a-${n}`, placeholder: t, size: 20 });
    i.value = params.get(n) ?? '';
    return [n, i];
  });
  const form = el(
    'form',
    {
      id: 'audit-filter',
      onsubmit: (ev) => {
        ev.preventDefault();
        location.hash = `#/audit?${formParams(inputs)}`;
      },
    },
    el('h2', {}, 'Audit trail'),
    inputs.map(([, i]) => i),
    ' ',
    el('button', { type: 'submit' }, 'Filter'),
  );
  const { body } = await api('audit', Object.fromEntries(params));
  show(
    form,
    el('p', {}, `${body.total} entries, signed through ${body.sealed_through}; newest first.`),
    el(
      'table',
      { id: 'audit' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          ['seq', 'time', 'who', 'role', 'method', 'params', 'records', 'code'].map((h) =>
            el('th', {}, h),
          ),
        ),
      ),
      el(
        'tbody',
        {},
        body.entries.map((a) =>
          el(
            'tr',
            {},
            el('td', {}, String(a.seq)),
            el('td', {}, formatTime(a.at)),
            el('td', {}, a.who),
            el('td', {}, a.role),
            el('td', {}, a.method),
            el('td', {}, a.params),
            el('td', { class: 'mono' }, a.record_ids.map((r) => r.slice(0, 12)).join(' ')),
            el('td', {}, String(a.code)),
          ),
        ),
      ),
    ),
    body.next_before
      ? el(
          'a',
          {
            href: `#/audit?${new URLSearchParams({ ...Object.fromEntries(params), before: body.next_before })}`,
            id: 'older',
          },
          'Older entries',
        )
      : null,
  );
}

// ---- offline verification -----------------------------------------------------------------

function offlinePage() {
  const result = el('div', { id: 'offline-result' });
  const check = async (file) => {
    const text = await file.text();
    const v = verifyBundle(text);
    result.replaceChildren(
      el('h3', {}, file.name),
      verifiedBox(
        v,
        'Checked in this browser, from the file alone (the rules of threatmesh verify):',
      ),
      v.record ? el('div', { class: 'graph', id: 'custody' }, custodyGraph(v)) : null,
    );
  };
  const input = el('input', {
    type: 'file',
    id: 'bundle-file',
    accept: '.json,application/json',
    onchange: () => input.files[0] && check(input.files[0]),
  });
  const zone = el(
    'div',
    { id: 'drop-zone', class: 'drop' },
    'Drop a proof bundle here (threatmesh export-proof), or choose it: ',
    input,
  );
  zone.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    zone.classList.add('over');
  });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (ev) => {
    ev.preventDefault();
    zone.classList.remove('over');
    const file = ev.dataTransfer?.files?.[0];
    if (file) check(file);
  });
  show(
    el('h2', {}, 'Verify a proof bundle'),
    el(
      'p',
      { class: 'hint' },
      'No node is asked and nothing is sent: the file is read and checked here.',
    ),
    zone,
    result,
  );
}

// ---- routing ------------------------------------------------------------------------------

function route() {
  const [path, query] = location.hash.replace(/^#/, '').split('?');
  const params = new URLSearchParams(query ?? '');
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'offline') return offlinePage();
  if (!session) return loginPage();
  for (const a of document.querySelectorAll('#nav a'))
    a.classList.toggle('here', a.getAttribute('href') === `#/${parts[0]}`);
  switch (parts[0]) {
    case 'record':
      return guarded(() => recordPage(parts[1] ?? ''));
    case 'violations':
      return guarded(violationsPage);
    case 'violation':
      return guarded(() => violationPage(parts[1] ?? ''));
    case 'peers':
      return guarded(peersPage);
    case 'audit':
      return guarded(() => auditPage(params));
    default:
      return searchPage(params);
  }
}

window.addEventListener('hashchange', route);
window.addEventListener('DOMContentLoaded', () => {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token && !location.hash.startsWith('#/offline')) login(token);
  else route();
});
