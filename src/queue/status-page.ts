/**
 * The status page itself, served by `serveStatus()`: plain HTML, CSS and JS, no build step and
 * nothing fetched from elsewhere (the machine may be offline). The script polls `status.json`
 * and redraws; every value from it (job ids, input paths, failure reasons, worker hosts) is
 * untrusted text and goes into the page through `textContent` only. States are words with an
 * icon, and the bars differ by pattern, so the page reads the same without colour.
 */

export const STATUS_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>inference-streams status</title>
<link rel="stylesheet" href="status.css">
<script src="status.js" defer></script>
</head>
<body>
<header>
<h1>inference-streams status</h1>
<p id="updated">Reading the status…</p>
<p id="error" role="alert" hidden></p>
</header>
<main id="jobs"></main>
<section id="workers-section" aria-labelledby="workers-title">
<h2 id="workers-title">Workers</h2>
<p id="workers-summary"></p>
<ul id="workers"></ul>
</section>
<noscript><p>This page needs JavaScript to follow the job; <a href="status.json">status.json</a> has the same data.</p></noscript>
</body>
</html>
`;

export const STATUS_PAGE_CSS = `:root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fdfdfd; --muted: #5a5a5a; --line: #8a8a8a; --done: #2f6f3e; --run: #1f5fa8; --fail: #a3261f; }
@media (prefers-color-scheme: dark) { :root { --fg: #e8e8e8; --bg: #161616; --muted: #a8a8a8; --line: #777; --done: #7fc58f; --run: #82b4ee; --fail: #ef8a82; } }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 72rem; padding: 1rem 1.25rem 2rem; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 1.3rem; margin: 0 0 .25rem; }
h2 { font-size: 1.1rem; margin: 1.25rem 0 .35rem; overflow-wrap: anywhere; }
h3 { font-size: .95rem; margin: .9rem 0 .3rem; }
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
#updated { color: var(--muted); margin: 0; }
#error { border: 2px solid var(--fail); padding: .4rem .6rem; margin: .5rem 0; }
.job { border-top: 1px solid var(--line); }
.facts { margin: .2rem 0; display: flex; flex-wrap: wrap; gap: .25rem 1.1rem; }
.state { font-weight: 600; white-space: nowrap; }
.state-completed { color: var(--done); }
.state-active, .state-running { color: var(--run); }
.state-failed, .state-paused { color: var(--fail); }
.bar { position: relative; height: .9rem; border: 1px solid var(--line); border-radius: 2px; overflow: hidden; margin: .2rem 0; }
.fill { height: 100%; background: var(--fg); }
.bar.waiting { border-style: dashed; }
.bar.active .fill { background: repeating-linear-gradient(135deg, var(--run) 0 6px, transparent 6px 10px); }
.bar.completed .fill { background: var(--done); }
.bar.failed .fill { background: repeating-linear-gradient(45deg, var(--fail) 0 3px, transparent 3px 7px), repeating-linear-gradient(135deg, var(--fail) 0 3px, transparent 3px 7px); }
.bar.unknown .fill { opacity: .55; }
.partitions { list-style: none; padding: 0; margin: 0; display: grid; gap: .55rem; }
.partition-head { display: flex; flex-wrap: wrap; gap: .15rem 1rem; }
.partition-number { font-weight: 600; min-width: 2.5rem; }
.range { color: var(--muted); }
.reason { margin: .1rem 0 0; overflow-wrap: anywhere; white-space: pre-wrap; }
#workers { padding-left: 1.2rem; }
#workers li { margin: .2rem 0; overflow-wrap: anywhere; }
@media (prefers-reduced-motion: no-preference) { .bar.active.unknown .fill { background-size: 28px 28px; animation: slide 1.2s linear infinite; } }
@keyframes slide { from { background-position: 0 0; } to { background-position: 28px 0; } }
`;

// String.raw: the regular expressions' backslashes reach the browser as written.
export const STATUS_PAGE_JS = String.raw`'use strict';
(function () {
  var POLL_MS = 1000;
  var ICONS = { waiting: '\u25F7', active: '\u25B6', completed: '\u2714', failed: '\u2716', running: '\u25B6', paused: '\u23F8' };

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function isNumber(value) { return typeof value === 'number' && isFinite(value); }
  function count(value) { return isNumber(value) ? Math.round(value).toLocaleString('en-US') : '?'; }
  function plural(n, one, many) { return count(n) + ' ' + (n === 1 ? one : many); }
  function duration(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + ' s';
    var m = Math.floor(s / 60);
    if (m < 60) return m + ' min ' + (s % 60) + ' s';
    return Math.floor(m / 60) + ' h ' + (m % 60) + ' min';
  }
  function utc(ms) { return new Date(ms).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC'); }
  function clock(date) { return date.toISOString().slice(11, 19) + ' UTC'; }
  function known(state) { return Object.prototype.hasOwnProperty.call(ICONS, state) ? state : 'unknown'; }
  function stateLabel(state) {
    var name = known(state);
    return el('span', 'state state-' + name, (ICONS[name] || '?') + ' ' + String(state));
  }
  // One job's page of a queue's list: status.json?id=ID (an id of the list only).
  var selected = new URLSearchParams(location.search).get('id');
  var source = 'status.json' + (selected ? '?id=' + encodeURIComponent(selected) : '');

  function jobsOf(doc) {
    if (Array.isArray(doc.jobs)) return doc.jobs;
    return doc.exportId === undefined ? [] : [doc];
  }
  /** exportStatus names it exportId, listJobs id. */
  function idOf(job) { return String(job.exportId !== undefined ? job.exportId : job.id); }

  /** A bar: the percentage when the data has one, else full (completed, failed) or a moving pattern (active). */
  function bar(state, percent, label) {
    var name = known(state);
    var node = el('div', 'bar ' + name);
    var fill = el('div', 'fill');
    node.setAttribute('role', 'progressbar');
    node.setAttribute('aria-label', label);
    node.setAttribute('aria-valuemin', '0');
    node.setAttribute('aria-valuemax', '100');
    var width;
    if (isNumber(percent)) {
      width = Math.max(0, Math.min(100, percent));
      node.setAttribute('aria-valuenow', String(width));
    } else {
      width = name === 'waiting' ? 0 : 100;
      if (name !== 'completed') node.className += ' unknown';
      node.setAttribute('aria-valuetext', name === 'completed' ? 'completed' : String(state) + ', progress not known');
    }
    fill.style.width = width + '%';
    node.appendChild(fill);
    return node;
  }

  function facts(item, unit) {
    var list = [];
    list.push(plural(item.records, 'record', 'records') + (isNumber(item.pages) ? ' in ' + plural(item.pages, 'page', 'pages') : ''));
    if (isNumber(item.recordsPerSecond)) list.push(count(item.recordsPerSecond) + ' records/s');
    if (isNumber(item.percent)) list.push(item.percent.toFixed(1) + ' %');
    if (isNumber(item.etaMs) && item.state !== 'completed') list.push('ETA ' + duration(item.etaMs));
    if (isNumber(item.createdAt) && unit === 'job') list.push('enqueued ' + utc(item.createdAt));
    if (isNumber(item.startedAt)) list.push('started ' + utc(item.startedAt));
    if (isNumber(item.finishedAt)) list.push('finished ' + utc(item.finishedAt));
    return list;
  }

  function partitionItem(p) {
    var item = el('li', 'partition');
    item.dataset.partition = String(p.partition);
    item.dataset.state = String(p.state);
    var head = el('div', 'partition-head');
    head.appendChild(el('span', 'partition-number', '#' + p.partition));
    head.appendChild(stateLabel(p.state));
    facts(p, 'partition').forEach(function (fact) { head.appendChild(el('span', 'fact', fact)); });
    // attemptsMade counts finished attempts: the one under way is the next.
    head.appendChild(el('span', 'attempts', p.state === 'active' && isNumber(p.attemptsMade) ? 'attempt ' + (p.attemptsMade + 1) + ' under way' : plural(p.attemptsMade, 'attempt', 'attempts')));
    var range = isNumber(p.startByte) ? 'bytes ' + count(p.startByte) + ' \u2013 ' + count(p.endByte)
      : isNumber(p.startTime) ? utc(p.startTime) + ' \u2013 ' + utc(p.endTime) : '';
    if (range) head.appendChild(el('span', 'range', range));
    item.appendChild(head);
    item.appendChild(bar(p.state, p.percent, 'partition ' + p.partition));
    if (typeof p.failedReason === 'string' && p.failedReason !== '') {
      item.appendChild(el('p', 'reason', (p.state === 'failed' ? 'Failed: ' : 'Last failure: ') + p.failedReason));
    }
    return item;
  }

  function jobSection(job, listed) {
    var id = idOf(job);
    var section = el('section', 'job');
    section.dataset.jobId = id;
    section.dataset.state = String(job.state);
    var title = el('h2');
    title.appendChild(document.createTextNode(job.kind === 'predict' ? 'Predictions ' : 'Export '));
    var name = el('code', 'job-id', id);
    if (listed) {
      // A query of this page: never another scheme, whatever the id holds.
      var link = el('a', 'job-link');
      link.href = '?id=' + encodeURIComponent(id);
      link.appendChild(name);
      title.appendChild(link);
    } else {
      title.appendChild(name);
    }
    if (typeof job.input === 'string') title.appendChild(document.createTextNode(' of ' + job.input));
    section.appendChild(title);
    var line = el('p', 'facts job-facts');
    line.appendChild(stateLabel(job.state));
    facts(job, 'job').forEach(function (fact) { line.appendChild(el('span', 'fact', fact)); });
    if (typeof job.table === 'string') line.appendChild(el('span', 'fact', 'into ' + (typeof job.to === 'string' ? job.to + ' ' : '') + 'table ' + job.table));
    section.appendChild(line);
    section.appendChild(bar(job.state, job.percent, 'job ' + id));
    if (isNumber(job.partitionCount)) {
      var failed = isNumber(job.failedPartitions) && job.failedPartitions > 0 ? ', ' + count(job.failedPartitions) + ' failed for good' : '';
      section.appendChild(el('p', 'partition-count', plural(job.partitionCount, 'partition', 'partitions') + failed + ' (open the job for each)'));
    }
    var partitions = Array.isArray(job.partitions) ? job.partitions : [];
    if (partitions.length > 0) {
      var done = partitions.filter(function (p) { return p.state === 'completed'; }).length;
      section.appendChild(el('h3', '', 'Partitions: ' + done + ' of ' + partitions.length + ' completed'));
      var list = el('ol', 'partitions');
      partitions.forEach(function (p) { list.appendChild(partitionItem(p)); });
      section.appendChild(list);
    }
    return section;
  }

  function workerItem(w, now) {
    var item = el('li', 'worker');
    item.dataset.state = String(w.state);
    item.appendChild(stateLabel(w.state));
    var text = ' ' + w.id + ' \u2014 ' + count(w.active) + ' of ' + count(w.concurrency) + ' partitions in hand';
    if (isNumber(w.updatedAt)) text += ', seen ' + duration(now - w.updatedAt) + ' ago';
    if (w.state === 'paused') {
      text += '; paused' + (isNumber(w.pausedSince) ? ' since ' + utc(w.pausedSince) : '') + ': ' + (w.pausedReason || 'no reason given');
      if (isNumber(w.nextProbeAt)) text += '; checks again in ' + duration(w.nextProbeAt - now);
    }
    item.appendChild(document.createTextNode(text));
    return item;
  }

  function render(doc) {
    var jobs = jobsOf(doc);
    var listed = Array.isArray(doc.jobs);
    var main = document.getElementById('jobs');
    main.replaceChildren.apply(main, jobs.map(function (job) { return jobSection(job, listed); }));
    if (listed && jobs.length === 0) main.appendChild(el('p', 'empty', 'No jobs in this queue.'));
    if (selected) {
      var back = el('a', 'back', '\u2190 All jobs of the queue');
      back.href = location.pathname;
      main.insertBefore(el('p', 'nav'), main.firstChild).appendChild(back);
    }
    var workers = Array.isArray(doc.workers) ? doc.workers : [];
    var now = Date.now();
    var paused = workers.filter(function (w) { return w.state === 'paused'; }).length;
    document.getElementById('workers-summary').textContent = workers.length === 0
      ? 'None: no worker reported in the last few seconds.'
      : plural(workers.length, 'worker', 'workers') + ' seen recently: ' + (workers.length - paused) + ' running, ' + paused + ' paused by themselves.';
    var list = document.getElementById('workers');
    list.replaceChildren.apply(list, workers.map(function (w) { return workerItem(w, now); }));
    if (!listed && jobs.length === 1) document.title = (ICONS[known(jobs[0].state)] || '') + ' ' + jobs[0].state + ' \u2014 ' + idOf(jobs[0]) + ' \u2014 inference-streams status';
  }

  // Set only when the reason changes: an alert is read out again at every change.
  var shownError = null;
  function showError(message) {
    var node = document.getElementById('error');
    if (message !== shownError) node.textContent = 'Could not read the status since ' + clock(new Date()) + ': ' + message + '. Trying again every second; what is shown is from the last read.';
    shownError = message;
    node.hidden = false;
  }
  function hideError() {
    shownError = null;
    document.getElementById('error').hidden = true;
  }

  function poll() {
    fetch(source, { cache: 'no-store', headers: { accept: 'application/json' } })
      .then(function (response) {
        return response.json().then(function (doc) {
          if (!response.ok) throw new Error(doc && doc.error && doc.error.message ? doc.error.message : 'HTTP ' + response.status);
          return doc;
        }, function () { throw new Error('HTTP ' + response.status + ' without a JSON body'); });
      })
      .then(function (doc) {
        render(doc);
        hideError();
        document.getElementById('updated').textContent = 'Updated ' + clock(new Date()) + '; the page follows the job without reloading.';
      })
      .catch(function (error) { showError(error && error.message ? error.message : String(error)); })
      .then(function () { setTimeout(poll, POLL_MS); });
  }
  poll();
})();
`;
