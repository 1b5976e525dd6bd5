// gy-ocs web console: plain JavaScript, no build step, no other origin. Every value a peer sent
// (Session-Ids, AVP values) is put in the page as text (textContent), never as HTML.
'use strict';

const POLL_MS = 2000;         // the overview's update interval (issue 16: at most every 2 s)
const CHART_POINTS = 150;     // 5 minutes of 2 s points
const state = { token: sessionStorage.getItem('gyocs-token'), gen: 0, points: [], last: null };

// ------------------------------------------------------------------ helpers

/** An element with attributes and children (strings become text nodes). */
function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined) continue;
    e.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return e;
}

function svg(tag, attrs) {
  const e = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** Calls the node's HTTP API; a refusal becomes an ApiError with the API's own message. */
async function api(method, path, body, extraHeaders) {
  const headers = Object.assign({}, extraHeaders);
  if (state.token) headers.Authorization = 'Bearer ' + state.token;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    // a node that hangs (stopped with SIGSTOP, a tunnel gone) must not stop a page's polling for good
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10000) });
  } catch (e) {
    throw new ApiError(0, 'the node does not answer (' + e.message + ')');
  }
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch (e) { /* not JSON */ }
  if (res.status === 401) {
    showLogin();
    throw new ApiError(401, 'a bearer token is needed');
  }
  if (!res.ok) {
    throw new ApiError(res.status, (json && json.error) || text || res.statusText);
  }
  return json;
}

function showError(message) {
  const e = document.getElementById('error');
  e.textContent = message;
  e.hidden = false;
}

function clearError() {
  const e = document.getElementById('error');
  e.hidden = true;
  e.textContent = '';
}

/**
 * Runs a page's step; what the API refuses is shown in the banner, not swallowed. The banner is
 * the page's that ran it: a step of a page no longer shown ({@code gen} old) leaves it alone.
 */
async function guarded(step, gen) {
  try {
    await step();
    if (gen === undefined || current(gen)) clearError();
  } catch (e) {
    if (gen === undefined || current(gen)) showError(e.status ? `${e.status}: ${e.message}` : e.message);
  }
}

/** A status line of a page, for the outcome of an action (RAR, top-up, a new rule). */
function statusLine(id) {
  return el('div', { id, class: 'status', role: 'status', 'aria-live': 'polite', hidden: true });
}

function setStatus(id, message, bad) {
  const s = document.getElementById(id);
  if (!s) return;
  s.textContent = message;
  s.className = bad ? 'status bad' : 'status';
  s.setAttribute('role', bad ? 'alert' : 'status');
  s.hidden = false;
}

async function act(statusId, step) {
  const gen = state.gen;
  try {
    const message = await step();
    if (current(gen)) setStatus(statusId, message, false);
  } catch (e) {
    if (current(gen)) setStatus(statusId, e.status ? `${e.status}: ${e.message}` : e.message, true);
  }
}

/**
 * Runs {@code step} every {@code ms} while the page that asked ({@code gen}) is shown: each run
 * waits for the one before (answers never arrive out of order), and none runs while the keyboard
 * focus is inside {@code holder}, the element the step replaces (the focus would be lost).
 */
function every(gen, ms, step, holder) {
  const next = () => setTimeout(async () => {
    if (!current(gen)) return;
    const box = holder && document.getElementById(holder);
    try {
      // the keyboard focus on a button the refresh would replace stays there: no refresh then
      if (!(box && box.contains(document.activeElement))) await step();
    } finally {
      if (current(gen)) next();
    }
  }, ms);
  next();
}

/** Whether the page that started a step is still shown (its answer would land on another page). */
function current(gen) {
  return gen === state.gen;
}

function fmt(n) {
  return n === null || n === undefined ? '—' : Number(n).toLocaleString('en-US');
}

function table(headers, rows, id) {
  return el('div', { class: 'scroll' }, el('table', { id },
    el('thead', {}, el('tr', {}, headers.map(h => el('th', { scope: 'col', class: h.num ? 'num' : null }, h.label || h)))),
    el('tbody', {}, rows)));
}

function showLogin() {
  const f = document.getElementById('login');
  if (f.hidden) {
    f.hidden = false;
    document.getElementById('token').focus(); // once: a poll's 401 must not take the focus again
  }
}

// ------------------------------------------------------------------ overview

/** The quantile of the answers between two reads of the latency histogram, in ms (upper bound of its bucket). */
function quantile(now, before, q) {
  const counts = now.map((b, i) => b.count - (before ? before[i].count : 0));
  if (counts.some(c => c < 0)) return quantile(now, null, q); // the node restarted: since its start
  const total = counts.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  let seen = 0;
  for (let i = 0; i < counts.length; i++) {
    seen += counts[i];
    if (seen >= q * total) {
      return now[i].le === '+Inf' ? Infinity : Number(now[i].le) * 1000;
    }
  }
  return null;
}

function ms(v) {
  if (v === null) return '—';
  if (v === Infinity) return '> 5 s';
  return '≤ ' + (v < 1 ? v.toFixed(2) : v.toFixed(v < 10 ? 1 : 0)) + ' ms';
}

function sum(o) {
  return Object.values(o).reduce((a, b) => a + b, 0);
}

/** Whether any counter of {@code now} is below {@code before}'s: the node restarted in between. */
function restarted(now, before) {
  return now.latency.length !== before.latency.length || sum(now.requests) < sum(before.requests) || now.errors < before.errors
    || now.latency.some((b, i) => b.count < before.latency[i].count)
    || Object.entries(before.answers).some(([c, n]) => (now.answers[c] || 0) < n);
}

async function overview(main) {
  const gen = state.gen;
  state.points = [];
  state.last = null;
  main.append(el('h1', {}, 'Overview'),
    el('div', { class: 'grid', id: 'tiles' }),
    el('h2', {}, 'The last minutes'),
    el('div', { class: 'legend' }, el('span', { class: 'lg-req' }, '■ requests/s'),
      el('span', { class: 'lg-err' }, '■ error answers/s'), el('span', { id: 'chart-max', class: 'muted' })),
    el('div', { id: 'chart' }),
    el('h2', {}, 'Requests by type'), el('div', { id: 'by-type' }),
    el('h2', {}, 'Answers by Result-Code'), el('div', { id: 'by-code' }));
  const update = () => guarded(async () => {
    const o = await api('GET', '/overview');
    if (!current(gen)) return;
    if (!document.getElementById('node').textContent) header();
    // counters that went down: the node restarted; rates start again from this read
    const last = state.last && o.time > state.last.time && !restarted(o, state.last) ? state.last : null;
    if (!last) state.points = [];
    const dt = last ? (o.time - last.time) / 1000 : 0;
    const rate = (now, before) => (last && dt > 0 ? Math.max(0, (now - (before || 0)) / dt) : null);
    const reqRate = rate(sum(o.requests), last && sum(last.requests));
    const errNow = Object.entries(o.answers).filter(([c]) => !c.startsWith('2')).reduce((a, [, n]) => a + n, 0);
    const errBefore = last ? Object.entries(last.answers).filter(([c]) => !c.startsWith('2')).reduce((a, [, n]) => a + n, 0) : 0;
    if (last && dt > 0) {
      state.points.push({ t: o.time, req: reqRate, err: rate(errNow, errBefore) });
      while (state.points.length > CHART_POINTS || state.points[0].t < o.time - CHART_POINTS * POLL_MS) state.points.shift();
    }
    const p50 = last ? quantile(o.latency, last.latency, 0.5) : quantile(o.latency, null, 0.5);
    const p99 = last ? quantile(o.latency, last.latency, 0.99) : quantile(o.latency, null, 0.99);
    state.last = o;
    const h = o.health;
    tiles([
      ['Health', h.status + (h.reason ? ': ' + h.reason : ''), h.status === 'UP' ? 'up' : 'down', 'tile-health'],
      ['Balance store', o.storeUp ? 'up' : 'DOWN', o.storeUp ? 'up' : 'down', 'tile-store'],
      ['Requests/s', perSecond(reqRate), null, 'tile-rate'],
      ['Requests since start', fmt(sum(o.requests)), null, 'tile-requests'],
      ['Latency p50 / p99', ms(p50) + ' / ' + ms(p99), null, 'tile-latency'],
      ['Open sessions', fmt(h.openSessions), null, 'tile-sessions'],
      ['Connected peers', fmt(h.connectedPeers), null, 'tile-peers'],
      ['Errors since start', fmt(o.errors), o.errors > 0 ? 'down' : null, 'tile-errors'],
    ]);
    const types = Object.keys(o.requests);
    document.getElementById('by-type').replaceChildren(table(['Type', { label: 'Total', num: true }, { label: 'Per second', num: true }],
      types.map(t => el('tr', {}, el('td', {}, t), el('td', { class: 'num' }, fmt(o.requests[t])),
        el('td', { class: 'num' }, perSecond(rate(o.requests[t], last && last.requests[t]))))), 'requests-by-type'));
    document.getElementById('by-code').replaceChildren(table(['Result-Code', { label: 'Total', num: true }, { label: 'Per second', num: true }],
      Object.keys(o.answers).map(c => el('tr', {}, el('td', {}, c), el('td', { class: 'num' }, fmt(o.answers[c])),
        el('td', { class: 'num' }, perSecond(rate(o.answers[c], last && last.answers[c]))))), 'answers-by-code'));
    chart();
  }, gen);
  await update();
  every(gen, POLL_MS, update);
}

function perSecond(v) {
  return v === null || v === undefined ? '…' : v.toFixed(1);
}

function tiles(list) {
  document.getElementById('tiles').replaceChildren(...list.map(([k, v, cls, id]) =>
    el('div', { class: 'tile', id }, el('div', { class: 'k' }, k), el('div', { class: 'v ' + (cls || '') }, v))));
}

function chart() {
  const w = 600, hgt = 180, pts = state.points;
  const box = svg('svg', { class: 'chart', viewBox: `0 0 ${w} ${hgt}`, preserveAspectRatio: 'none', role: 'img',
    'aria-label': 'requests and error answers per second over the last minutes' });
  const max = Math.max(1, ...pts.map(p => Math.max(p.req || 0, p.err || 0)));
  const line = (key, color) => {
    if (pts.length < 2) return;
    // the points there are fill the width: 2 s each, up to 5 minutes
    const d = pts.map((p, i) => `${(i / (pts.length - 1)) * w},${hgt - 8 - ((p[key] || 0) / max) * (hgt - 24)}`).join(' ');
    box.append(svg('polyline', { points: d, fill: 'none', stroke: color, 'stroke-width': 2 }));
  };
  line('req', '#1f5f8b');
  line('err', '#b42318');
  const span = pts.length < 2 ? 0 : Math.round((pts[pts.length - 1].t - pts[0].t) / 1000);
  document.getElementById('chart-max').textContent = `the last ${span} s; top of the chart: ${max.toFixed(1)}/s`;
  document.getElementById('chart').replaceChildren(box);
}

// ------------------------------------------------------------------ peers

async function peers(main) {
  const gen = state.gen;
  main.append(el('h1', {}, 'Peers'), el('div', { id: 'peers' }));
  const update = () => guarded(async () => {
    const list = await api('GET', '/peers');
    if (!current(gen)) return;
    document.getElementById('peers').replaceChildren(list.length === 0 ? el('p', { class: 'muted' }, 'No peer is connected.')
      : table(['Origin-Host', 'Realm', 'Address', 'State', 'Since', { label: 'Requests', num: true }, { label: 'Answers', num: true }],
        list.map(p => el('tr', {}, el('td', {}, p.originHost), el('td', {}, p.originRealm || '—'), el('td', { class: 'mono' }, p.address),
          el('td', {}, p.state), el('td', {}, p.connectedSince), el('td', { class: 'num' }, fmt(p.requests)),
          el('td', { class: 'num' }, fmt(p.answers)))), 'peers-table'));
  }, gen);
  await update();
  every(gen, 5000, update, 'peers');
}

// ------------------------------------------------------------------ sessions

async function sessions(main) {
  const filter = el('input', { id: 'session-subscriber', type: 'search', placeholder: 'e.g. 491700000001' });
  main.append(el('h1', {}, 'Sessions'),
    el('form', { class: 'inline', onsubmit: e => { e.preventDefault(); update(); } },
      el('div', {}, el('label', { for: 'session-subscriber' }, 'Subscriber'), filter),
      el('button', { type: 'submit' }, 'Show')),
    statusLine('session-status'), el('div', { id: 'sessions' }));
  const gen = state.gen;
  const update = () => guarded(async () => {
    const q = filter.value.trim();
    const list = await api('GET', '/sessions' + (q ? '?subscriber=' + encodeURIComponent(q) : ''));
    if (!current(gen)) return;
    document.getElementById('sessions').replaceChildren(list.length === 0 ? el('p', { class: 'muted' }, 'No open session.')
      : table(['Session-Id', 'Subscriber', 'Peer', { label: 'Last CC-Request-Number', num: true }, 'Holds per rating group', ''],
        list.map(s => el('tr', {}, el('td', { class: 'mono' }, s.sessionId),
          el('td', {}, s.subscriber || ((s.subscriptionIds || [])[0] || '—') + ' (not provisioned)'), el('td', {}, s.peer),
          el('td', { class: 'num' }, s.lastRequestNumber),
          el('td', {}, s.services.map(g => el('div', {}, `${g.ratingGroup === null ? 'no RG' : 'RG ' + g.ratingGroup}: `
            + (g.unit ? `${fmt(g.granted)} ${g.unit}` + (g.validUntil ? ', until ' + g.validUntil : '') : 'nothing granted')
            + ` (${g.resultCode})`))),
          el('td', {}, el('button', { class: 'secondary', onclick: () => sessionRequest(s.sessionId, 'reauth'), 'aria-label': 'Re-auth ' + s.sessionId }, 'Re-auth (RAR)'),
            ' ', el('button', { class: 'danger', onclick: () => sessionRequest(s.sessionId, 'abort'), 'aria-label': 'Abort ' + s.sessionId }, 'Abort (ASR)')))),
        'sessions-table'));
  }, gen);
  const sessionRequest = (id, what) => act('session-status', async () => {
    const r = await api('POST', '/sessions/' + encodeURIComponent(id) + '/' + what);
    update();
    return `${r.request} to ${r.sessionId}: answered ${r.resultCode}`;
  });
  await update();
  every(gen, 5000, update, 'sessions');
}

// ------------------------------------------------------------------ subscribers

function usedOf(avps) {
  const out = [];
  const walk = (list, inUsed) => {
    for (const a of list || []) {
      if (a.avps) walk(a.avps, inUsed || a.name === 'Used-Service-Unit');
      else if (inUsed && /^CC-(Total-Octets|Time|Service-Specific-Units|Input-Octets|Output-Octets)$/.test(a.name)) {
        out.push(a.name.replace('CC-', '') + ' ' + a.value);
      }
    }
  };
  walk(avps, false);
  return out.join(', ') || '—';
}

async function subscribers(main) {
  const gen = state.gen;
  const box = el('div', { id: 'subscriber' });
  const id = el('input', { id: 'subscriber-id', type: 'search', placeholder: 'e.g. 491700000001', required: true });
  main.append(el('h1', {}, 'Subscribers'),
    el('form', { class: 'inline', id: 'subscriber-search', onsubmit: e => {
      e.preventDefault();
      const target = '#/subscribers/' + encodeURIComponent(id.value.trim());
      if (location.hash === target) show(); else location.hash = target; // the hash change shows it
    } },
      el('div', {}, el('label', { for: 'subscriber-id' }, 'Subscriber'), id), el('button', { type: 'submit' }, 'Show')),
    statusLine('subscriber-status'), box);
  const show = () => guarded(async () => {
    if (!current(gen)) return; // a top-up's refresh after the page was left
    const who = id.value.trim();
    box.replaceChildren();
    if (!who) return;
    const [s, open, recent] = await Promise.all([
      // a subscriber without buckets (granted by policy) still has sessions and requests to show
      api('GET', '/subscribers/' + encodeURIComponent(who)).catch(e => {
        if (e.status === 404) return { subscriber: who, buckets: null, why: e.message };
        throw e;
      }),
      api('GET', '/sessions?subscriber=' + encodeURIComponent(who)),
      api('GET', '/requests?limit=20&subscriber=' + encodeURIComponent(who)).catch(e => {
        if (e.status === 404) return null; // requests-kept is 0: said below
        throw e;
      })]);
    if (!current(gen)) return;
    const unit = el('select', { id: 'topup-unit' }, ['octets', 'seconds', 'units'].map(u => el('option', { value: u }, u)));
    const amount = el('input', { id: 'topup-amount', type: 'number', min: 1, required: true });
    const rg = el('input', { id: 'topup-rg', type: 'number', min: 0, placeholder: 'any' });
    const button = el('button', { type: 'submit' }, 'Top up');
    // one key per top-up: a second click, or a retry after a lost answer, credits once (README);
    // another amount or unit is another top-up, with a key of its own
    const newKey = () => 'console-' + (crypto.randomUUID ? crypto.randomUUID() : Date.now() + '-' + Math.random());
    let key = newKey(), keyBody = null;
    box.replaceChildren(
      el('h2', {}, 'Buckets of ' + s.subscriber),
      s.buckets === null ? el('p', { class: 'muted' }, 'No bucket (' + s.why + ').')
        : s.buckets.length === 0 ? el('p', { class: 'muted' }, 'No bucket.') :
        table(['Unit', 'Rating group', { label: 'Amount', num: true }, { label: 'Reserved', num: true }, { label: 'Free', num: true }, 'Expires'],
          s.buckets.map(b => el('tr', {}, el('td', {}, b.unit), el('td', {}, b.ratingGroup === null ? 'any' : b.ratingGroup),
            el('td', { class: 'num' }, fmt(b.amount)), el('td', { class: 'num' }, fmt(b.reserved)), el('td', { class: 'num' }, fmt(b.free)),
            el('td', {}, b.expires || '—'))), 'buckets-table'),
      el('h2', {}, 'Top up'),
      el('form', { class: 'inline', id: 'topup', onsubmit: e => {
        e.preventDefault();
        const body = { unit: unit.value, amount: Number(amount.value) };
        if (rg.value !== '') body.ratingGroup = Number(rg.value);
        if (keyBody !== null && keyBody !== JSON.stringify(body)) key = newKey();
        keyBody = JSON.stringify(body);
        button.disabled = true;
        act('subscriber-status', async () => {
          try {
            await api('POST', '/subscribers/' + encodeURIComponent(who) + '/topup', body, { 'Idempotency-Key': key });
          } finally {
            button.disabled = false;
          }
          const sessions = await api('GET', '/sessions?subscriber=' + encodeURIComponent(who));
          await show();
          return `Topped up ${fmt(body.amount)} ${body.unit}; a RAR went to each of its ${sessions.length} open session(s)`;
        });
      } },
        el('div', {}, el('label', { for: 'topup-unit' }, 'Unit'), unit),
        el('div', {}, el('label', { for: 'topup-amount' }, 'Amount'), amount),
        el('div', {}, el('label', { for: 'topup-rg' }, 'Rating group'), rg),
        button),
      el('h2', {}, 'Open sessions: ' + open.length),
      open.length === 0 ? null : table(['Session-Id', 'Peer', 'Holds'], open.map(x => el('tr', {},
        el('td', { class: 'mono' }, x.sessionId), el('td', {}, x.peer),
        el('td', {}, x.services.map(g => el('div', {}, `${g.ratingGroup === null ? 'no RG' : 'RG ' + g.ratingGroup}: `
          + (g.unit ? `${fmt(g.granted)} ${g.unit}` : 'nothing granted')))))), 'subscriber-sessions'),
      el('h2', {}, 'Recent usage'),
      recent === null ? el('p', { class: 'muted' }, 'Requests are not kept on this node (requests-kept is 0).')
        : recent.length === 0 ? el('p', { class: 'muted' }, 'No recent request.') :
        table(['Time', 'Request', 'Session-Id', 'Result', 'Used'], recent.slice().reverse().map(r => el('tr', {},
          el('td', {}, r.time), el('td', {}, requestName(r)), el('td', { class: 'mono' }, r.sessionId || '—'),
          el('td', {}, r.resultCode), el('td', {}, usedOf(r.avps)))), 'usage-table'));
  }, gen);
  let fromHash = '';
  try {
    fromHash = decodeURIComponent(location.hash.split('/')[2] || '');
  } catch (e) {
    showError('The address names no subscriber that can be read: ' + location.hash);
  }
  if (fromHash) {
    id.value = fromHash;
    await show();
  }
}

/** "UPDATE 2", or what of it the request carried. */
function requestName(r) {
  return (r.request === null || r.request === undefined ? 'CCR' : r.request) + (r.number === null || r.number === undefined ? '' : ' ' + r.number);
}

// ------------------------------------------------------------------ behaviours

async function behaviours(main) {
  const f = {
    request: el('select', { id: 'b-request' }, ['', 'INITIAL', 'UPDATE', 'TERMINATE', 'EVENT'].map(v => el('option', { value: v }, v || 'any'))),
    number: el('input', { id: 'b-number', type: 'number', min: 0, placeholder: 'any' }),
    subscriber: el('input', { id: 'b-subscriber', placeholder: 'any, or 4917*' }),
    times: el('input', { id: 'b-times', type: 'number', min: 1, placeholder: 'every' }),
    resultCode: el('input', { id: 'b-result-code', type: 'number', placeholder: 'e.g. 5030' }),
    msccResultCode: el('input', { id: 'b-mscc-result-code', type: 'number', placeholder: 'e.g. 4012' }),
    delay: el('input', { id: 'b-delay', type: 'number', min: 1, placeholder: 'ms' }),
    drop: el('input', { id: 'b-drop', type: 'checkbox' }),
  };
  const json = el('textarea', { id: 'b-json', 'aria-label': 'A behaviour as JSON' },
    '{"match": {"request": "UPDATE", "number": 2}, "times": 1, "answer": {"mscc-result-code": 4012}}');
  const field = (label, input) => el('div', {}, el('label', { for: input.id }, label), input);
  main.append(el('h1', {}, 'Behaviours'),
    el('p', { class: 'muted' }, 'Rules that change the answers to the requests they match (README, Test control). The first matching rule applies.'),
    statusLine('behaviour-status'), el('div', { id: 'behaviours' }),
    el('h2', {}, 'New rule'),
    el('form', { class: 'inline', id: 'behaviour-form', onsubmit: e => {
      e.preventDefault();
      const match = {}, answer = {}, rule = { match, answer };
      if (f.request.value) match.request = f.request.value;
      if (f.number.value !== '') match.number = Number(f.number.value);
      if (f.subscriber.value.trim()) match.subscriber = f.subscriber.value.trim();
      if (f.times.value !== '') rule.times = Number(f.times.value);
      if (f.resultCode.value !== '') answer['result-code'] = Number(f.resultCode.value);
      if (f.msccResultCode.value !== '') answer['mscc-result-code'] = Number(f.msccResultCode.value);
      if (f.delay.value !== '') answer['delay-ms'] = Number(f.delay.value);
      if (f.drop.checked) answer.drop = true;
      create(rule);
    } },
      field('Request', f.request), field('Number', f.number), field('Subscriber', f.subscriber), field('Times', f.times),
      field('Result-Code', f.resultCode), field('MSCC Result-Code', f.msccResultCode), field('Delay', f.delay),
      el('div', {}, el('label', { for: 'b-drop' }, 'Drop'), f.drop),
      el('button', { type: 'submit', id: 'b-add' }, 'Add')),
    el('h2', {}, 'Or as JSON'),
    el('form', { id: 'behaviour-json', onsubmit: e => {
      e.preventDefault();
      let rule;
      try {
        rule = JSON.parse(json.value);
      } catch (err) {
        setStatus('behaviour-status', 'Not JSON: ' + err.message, true);
        return;
      }
      create(rule);
    } }, json, el('button', { type: 'submit', id: 'b-add-json' }, 'Add JSON')));
  const create = rule => act('behaviour-status', async () => {
    const r = await api('POST', '/behaviours', rule);
    await update();
    return Array.isArray(r) ? `Added ${r.map(x => x.id).join(', ')}` : `Added ${r.id}`;
  });
  const remove = id => act('behaviour-status', async () => {
    await api('DELETE', '/behaviours/' + encodeURIComponent(id));
    await update();
    return 'Deleted ' + id;
  });
  const gen = state.gen;
  const update = () => guarded(async () => {
    const list = await api('GET', '/behaviours');
    if (!current(gen)) return;
    document.getElementById('behaviours').replaceChildren(list.length === 0 ? el('p', { class: 'muted' }, 'No behaviour: every answer is the normal one.')
      : el('div', {}, table(['Id', 'Match', 'Times', 'Answer', { label: 'Hits', num: true }, ''],
        list.map(b => el('tr', {}, el('td', {}, b.id), el('td', { class: 'mono' }, JSON.stringify(b.match)), el('td', {}, b.times ?? 'every'),
          el('td', { class: 'mono' }, JSON.stringify(b.answer)), el('td', { class: 'num', id: 'hits-' + b.id }, fmt(b.hits)),
          el('td', {}, el('button', { class: 'danger', onclick: () => remove(b.id), 'aria-label': 'Delete ' + b.id }, 'Delete')))), 'behaviours-table'),
        el('button', { class: 'danger', onclick: () => act('behaviour-status', async () => {
          const r = await api('DELETE', '/behaviours');
          await update();
          return `Deleted ${r.deleted}`;
        }) }, 'Delete all')));
  }, gen);
  await update();
  every(gen, 5000, update, 'behaviours');
}

// ------------------------------------------------------------------ requests

function avpTree(avps) {
  return avps.map(a => {
    const head = `${a.name || 'AVP ' + a.code} (${a.code}${a.vendor ? ', vendor ' + a.vendor : ''})`;
    if (a.avps) {
      return el('details', { open: true }, el('summary', {}, head), avpTree(a.avps));
    }
    const value = a.value !== undefined ? a.value + (a.enum ? ' ' + a.enum : '') : a.hex !== undefined ? '0x' + a.hex : '';
    return el('div', { class: 'avp' }, head + ': ', el('span', { class: 'mono' }, value), a.error ? el('span', { class: 'down' }, ' (' + a.error + ')') : null);
  });
}

async function requests(main) {
  const gen = state.gen;
  const sub = el('input', { id: 'r-subscriber', type: 'search', placeholder: 'any' });
  const ses = el('input', { id: 'r-session', type: 'search', placeholder: 'any' });
  main.append(el('h1', {}, 'Requests'),
    el('form', { class: 'inline', onsubmit: e => { e.preventDefault(); update(); } },
      el('div', {}, el('label', { for: 'r-subscriber' }, 'Subscriber'), sub),
      el('div', {}, el('label', { for: 'r-session' }, 'Session-Id'), ses),
      el('button', { type: 'submit', id: 'r-refresh' }, 'Show')),
    el('div', { id: 'requests' }));
  const update = () => guarded(async () => {
    const q = new URLSearchParams({ limit: '50' });
    if (sub.value.trim()) q.set('subscriber', sub.value.trim());
    if (ses.value.trim()) q.set('session', ses.value.trim());
    const list = (await api('GET', '/requests?' + q)).reverse(); // newest first on screen
    if (!current(gen)) return;
    document.getElementById('requests').replaceChildren(list.length === 0 ? el('p', { class: 'muted' }, 'No request recorded.')
      : el('div', { id: 'requests-list' }, list.map(r => el('div', { class: 'card request', 'data-session': r.sessionId || '' },
        el('div', {}, el('strong', {}, requestName(r)), ' → ', el('strong', { class: String(r.resultCode).startsWith('2') ? 'up' : 'down' }, String(r.resultCode)),
          r.behaviour ? ` (behaviour ${r.behaviour})` : '', el('span', { class: 'muted' }, ` ${r.time} from ${r.peer}`)),
        el('div', { class: 'mono' }, r.sessionId || '—'),
        el('details', {}, el('summary', {}, `AVPs (${r.avps.length})`), avpTree(r.avps))))));
  }, gen);
  await update();
}

// ------------------------------------------------------------------ routing

const PAGES = { overview, peers, sessions, subscribers, behaviours, requests };

async function render() {
  const name = PAGES[location.hash.split('/')[1]] ? location.hash.split('/')[1] : 'overview';
  state.gen++; // the page shown before stops its timers and drops its late answers
  for (const a of document.querySelectorAll('nav a')) {
    if (a.id === 'nav-' + name) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  const main = document.getElementById('page');
  main.dataset.page = name;
  main.replaceChildren();
  clearError();
  await PAGES[name](main);
}

async function header() {
  try {
    const h = await api('GET', '/health');
    document.getElementById('node').textContent = `${h.originHost} (${h.originRealm}), ${h.mode} mode, Diameter port ${h.diameterPort}`;
  } catch (e) {
    // /health answers 503 with a reason while the node stops: the overview shows it
  }
}

document.getElementById('login').addEventListener('submit', e => {
  e.preventDefault();
  state.token = document.getElementById('token').value.trim();
  sessionStorage.setItem('gyocs-token', state.token);
  document.getElementById('login').hidden = true;
  render();
});
window.addEventListener('hashchange', render);
header();
render();
