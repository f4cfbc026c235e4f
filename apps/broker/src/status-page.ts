/**
 * `/`: the broker's live status page. Plain HTML and a script that reads `/status` every second:
 * the services and workers tables, and throughput and mean latency over the last minute as SVG lines. No
 * framework, nothing fetched from elsewhere.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>tsr broker</title>
<style>
  body { font: 14px system-ui, sans-serif; margin: 1.5em; color: #222; }
  h1 { font-size: 1.3em; margin: 0 0 .3em; }
  .facts span { margin-right: 1.5em; }
  .charts { display: flex; gap: 2em; margin: 1em 0; }
  figure { margin: 0; }
  figcaption { font-weight: 600; margin-bottom: .3em; }
  svg { width: 420px; height: 120px; background: #f6f8fa; border: 1px solid #ddd; }
  polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
  #throughput polyline { stroke: #1a7f37; }
  #latency polyline { stroke: #0969da; }
  table { border-collapse: collapse; }
  th, td { padding: .25em .8em; border-bottom: 1px solid #ddd; text-align: left; }
  td.n { text-align: right; font-variant-numeric: tabular-nums; }
  #error { color: #b00; }
</style>
</head>
<body>
<h1>tsr broker <span id="host"></span> <small id="version"></small></h1>
<div class="facts">
  <span>up <b id="uptime">-</b> s</span>
  <span>workers <b id="worker-count">-</b></span>
  <span>waiting <b id="pending">-</b></span>
  <span>in service <b id="in-service">-</b></span>
  <span>held <b id="bytes">-</b> bytes</span>
  <span>requests <b id="requests">-</b></span>
  <span>replies <b id="replies">-</b></span>
  <span id="error"></span>
</div>
<div class="charts">
  <figure><figcaption>replies/s: <span id="rps">-</span></figcaption><svg id="throughput" viewBox="0 0 60 100" preserveAspectRatio="none"><polyline points=""/></svg></figure>
  <figure><figcaption>mean latency (ms): <span id="latency-ms">-</span></figcaption><svg id="latency" viewBox="0 0 60 100" preserveAspectRatio="none"><polyline points=""/></svg></figure>
</div>
<table>
  <thead><tr><th>service</th><th>workers</th><th>ready</th><th>busy</th><th>waiting</th></tr></thead>
  <tbody id="services"></tbody>
</table>
<table>
  <thead><tr><th>worker</th><th>service</th><th>kind</th><th>credit lent</th><th>outstanding</th><th>last heard (ms ago)</th></tr></thead>
  <tbody id="workers"></tbody>
</table>
<script>
"use strict";
const $ = (id) => document.getElementById(id);
const rps = [], latency = [];
let last;
function plot(id, series) {
  const max = Math.max(1, ...series);
  $(id).querySelector('polyline').setAttribute('points', series.map((v, i) => (60 - series.length + i) + ',' + (100 - 95 * v / max).toFixed(1)).join(' '));
}
function push(series, v) { series.push(v); if (series.length > 60) series.shift(); }
function cell(text, numeric) { const td = document.createElement('td'); td.textContent = text; if (numeric) td.className = 'n'; return td; }
async function tick() {
  try {
    const s = await (await fetch('status', { cache: 'no-store' })).json();
    const now = performance.now();
    $('error').textContent = '';
    $('version').textContent = s.version + ', instance ' + s.instance;
    $('host').textContent = s.host;
    $('uptime').textContent = s.uptimeSeconds;
    $('worker-count').textContent = s.workers.length;
    $('pending').textContent = s.queue.pending;
    $('in-service').textContent = s.queue.inService;
    $('bytes').textContent = s.queue.bytes;
    $('requests').textContent = s.counters.requests;
    $('replies').textContent = s.counters.replies;
    if (last) {
      const seconds = (now - last.at) / 1000;
      const answered = s.latency.count - last.count;
      push(rps, (s.counters.replies - last.replies) / seconds);
      push(latency, answered > 0 ? 1000 * (s.latency.sumSeconds - last.sum) / answered : 0);
      $('rps').textContent = rps[rps.length - 1].toFixed(0);
      $('latency-ms').textContent = latency[latency.length - 1].toFixed(1);
      plot('throughput', rps);
      plot('latency', latency);
    }
    last = { at: now, replies: s.counters.replies, count: s.latency.count, sum: s.latency.sumSeconds };
    const row = (...cells) => { const tr = document.createElement('tr'); tr.append(...cells); return tr; };
    $('services').replaceChildren(...s.services.map((v) => row(cell(v.name), cell(v.workers, true), cell(v.ready, true), cell(v.busy, true), cell(v.waiting, true))));
    $('workers').replaceChildren(...s.workers.map((w) => row(cell(w.id), cell(w.service), cell(w.kind), cell(w.credit, true), cell(w.outstanding, true), cell(w.lastHeardMsAgo, true))));
  } catch (e) {
    $('error').textContent = 'no answer from the broker: ' + e.message;
  }
}
tick();
setInterval(tick, 1000);
</script>
</body>
</html>
`;
