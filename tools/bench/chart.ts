/**
 * The chart, as a hand-written SVG (no dependencies): top row, throughput against workers for
 * each message size (median, whiskers min–max); bottom row, latency percentiles at half of the
 * broker's saturation for each size (log scale).
 */
import { type Summary, sizeLabel } from './report';
import type { Spread } from './stats';
import { type TargetKind, latencyKinds } from './targets';

const COLOR: Record<TargetKind, string> = { broker: '#1f77b4', 'broker-metrics': '#17becf', forwarder: '#ff7f0e', 'forwarder-lru': '#7f7f7f', 'forwarder-c': '#9467bd', direct: '#2ca02c' };
const NAME: Record<TargetKind, string> = { broker: 'broker', 'broker-metrics': 'broker, metrics scraped', forwarder: 'bare forwarder', 'forwarder-lru': 'LRU forwarder', 'forwarder-c': 'C forwarder (libzmq)', direct: 'direct (no broker)' };

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const text = (x: number, y: number, s: string, attrs = '') => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${attrs}>${esc(s)}</text>`;
const line = (x1: number, y1: number, x2: number, y2: number, attrs: string) => `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" ${attrs}/>`;

/** A round tick step giving at most 5 intervals up to `v`, and the axis top it implies. */
function niceAxis(v: number): { max: number; step: number } {
  if (!(v > 0)) return { max: 1, step: 0.25 };
  const raw = v / 5;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].map((m) => m * p).find((m) => m >= raw) ?? 10 * p) as number;
  return { max: Math.ceil(v / step) * step, step };
}

const kilo = (v: number) => (v >= 1000 ? `${+(v / 1000).toFixed(1)}k` : `${+v.toFixed(1)}`);

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

function throughputPanel(s: Summary, size: number, box: Box, axis: { max: number; step: number }): string {
  const yMax = axis.max;
  const rows = s.saturation.filter((r) => r.size === size);
  const workers = rows.map((r) => r.workers);
  const out: string[] = [];
  const px = (i: number) => box.x + ((i + 0.5) / workers.length) * box.w;
  const py = (v: number) => box.y + box.h - (v / yMax) * box.h;
  out.push(`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="#fafafa" stroke="#ccc"/>`);
  for (let v = 0; v <= yMax + axis.step / 2; v += axis.step) {
    out.push(line(box.x, py(v), box.x + box.w, py(v), 'stroke="#e5e5e5"'));
    out.push(text(box.x - 6, py(v) + 4, kilo(v), 'text-anchor="end" font-size="11" fill="#555"'));
  }
  workers.forEach((w, i) => out.push(text(px(i), box.y + box.h + 16, `${w}`, 'text-anchor="middle" font-size="12"')));
  out.push(text(box.x + box.w / 2, box.y + box.h + 32, 'workers', 'text-anchor="middle" font-size="12" fill="#555"'));
  out.push(text(box.x + box.w / 2, box.y - 8, `${sizeLabel(size)} requests`, 'text-anchor="middle" font-size="13" font-weight="bold"'));
  const direct = rows.find((r) => r.rps.direct)?.rps.direct;
  if (direct) {
    const y = py(Math.min(direct.median, yMax));
    out.push(line(box.x, y, box.x + box.w, y, `stroke="${COLOR.direct}" stroke-dasharray="6 4" stroke-width="2"`));
    if (direct.median > yMax) out.push(text(box.x + 4, y + 13, `direct: ${kilo(direct.median)} (off scale)`, `font-size="11" fill="${COLOR.direct}"`));
  }
  for (const kind of ['forwarder-lru', 'forwarder', 'broker'] as TargetKind[]) {
    const pts = rows.map((r, i) => ({ i, s: r.rps[kind] })).filter((p): p is { i: number; s: Spread } => !!p.s);
    if (!pts.length) continue;
    const dash = kind === 'forwarder-lru' ? ' stroke-dasharray="3 3"' : '';
    if (pts.length > 1) out.push(`<polyline fill="none" stroke="${COLOR[kind]}" stroke-width="2"${dash} points="${pts.map((p) => `${px(p.i).toFixed(1)},${py(p.s.median).toFixed(1)}`).join(' ')}"/>`);
    for (const p of pts) {
      out.push(line(px(p.i), py(p.s.min), px(p.i), py(p.s.max), `stroke="${COLOR[kind]}" stroke-width="1.5"`));
      out.push(`<circle cx="${px(p.i).toFixed(1)}" cy="${py(p.s.median).toFixed(1)}" r="4" fill="${COLOR[kind]}"/>`);
    }
  }
  const ratios = rows.map((r, i) => text(px(i), box.y + box.h - 6, `×${r.ratio.median.toFixed(2)}`, `text-anchor="middle" font-size="11" fill="${COLOR.broker}"`));
  out.push(...ratios);
  return out.join('\n');
}

function latencyPanel(s: Summary, size: number, box: Box): string {
  const r = s.latency.find((l) => l.size === size);
  const out: string[] = [`<rect x="${box.x}" y="${box.y}" width="${box.w}" height="${box.h}" fill="#fafafa" stroke="#ccc"/>`];
  if (!r) return out.join('\n');
  const lo = -2; // 0.01 ms
  const hi = 2; // 100 ms
  const py = (ms: number) => box.y + box.h - ((Math.log10(Math.max(ms, 10 ** lo)) - lo) / (hi - lo)) * box.h;
  for (let e = lo; e <= hi; e++) {
    out.push(line(box.x, py(10 ** e), box.x + box.w, py(10 ** e), 'stroke="#e5e5e5"'));
    out.push(text(box.x - 6, py(10 ** e) + 4, `${10 ** e}`, 'text-anchor="end" font-size="11" fill="#555"'));
  }
  const pcts: ['p50' | 'p99' | 'p999', string][] = [
    ['p50', 'p50'],
    ['p99', 'p99'],
    ['p999', 'p99.9'],
  ];
  const kinds = latencyKinds(true).filter((k) => r.p99[k]);
  const groupW = box.w / pcts.length;
  const barW = (groupW * 0.7) / kinds.length;
  pcts.forEach(([key, label], g) => {
    kinds.forEach((k, i) => {
      const v = r[key][k]?.median;
      if (v === undefined || !Number.isFinite(v)) return;
      const x = box.x + g * groupW + groupW * 0.15 + i * barW;
      const y = py(v);
      out.push(`<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${(box.y + box.h - y).toFixed(1)}" fill="${COLOR[k]}"><title>${NAME[k]} ${label} ${v.toFixed(3)} ms</title></rect>`);
    });
    out.push(text(box.x + (g + 0.5) * groupW, box.y + box.h + 16, label, 'text-anchor="middle" font-size="12"'));
  });
  out.push(text(box.x + box.w / 2, box.y - 8, `${sizeLabel(size)} at ${Math.round(r.rate.median).toLocaleString('en-US')} req/s`, 'text-anchor="middle" font-size="13" font-weight="bold"'));
  out.push(text(box.x + 6, box.y + 14, `added p99 vs direct: ${r.addedP99.median.toFixed(2)} ms`, 'font-size="11" fill="#333"'));
  return out.join('\n');
}

export function chartSvg(s: Summary, title: string, subtitle: string): string {
  const sizes = [...new Set(s.saturation.map((r) => r.size))].sort((a, b) => a - b);
  const W = 1000;
  const left = 70;
  const gap = 60;
  const panelW = (W - left - 30 - gap * (sizes.length - 1)) / Math.max(1, sizes.length);
  const out: string[] = [];
  const H = 760;
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif">`);
  out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  out.push(text(W / 2, 24, title, 'text-anchor="middle" font-size="17" font-weight="bold"'));
  out.push(text(W / 2, 42, subtitle, 'text-anchor="middle" font-size="12" fill="#555"'));
  out.push(text(left - 50, 80, 'Throughput at saturation (req/s; × = broker / bare forwarder)', 'font-size="14" font-weight="bold"'));
  sizes.forEach((size, i) => {
    const rows = s.saturation.filter((r) => r.size === size);
    const maxOf = Math.max(...rows.flatMap((r) => (['broker', 'forwarder', 'forwarder-lru'] as TargetKind[]).map((k) => r.rps[k]?.max ?? 0)));
    const direct = rows.find((r) => r.rps.direct)?.rps.direct?.median ?? 0;
    const axis = niceAxis(Math.max(maxOf, direct <= maxOf * 1.6 ? direct : 0) * 1.05);
    out.push(throughputPanel(s, size, { x: left + i * (panelW + gap), y: 110, w: panelW, h: 220 }, axis));
  });
  out.push(text(left - 50, 420, 'Latency at half of the broker’s saturation (ms, log scale, open loop)', 'font-size="14" font-weight="bold"'));
  sizes.forEach((size, i) => out.push(latencyPanel(s, size, { x: left + i * (panelW + gap), y: 450, w: panelW, h: 220 })));
  const legend: TargetKind[] = [
    'broker',
    'forwarder',
    ...(s.saturation.some((r) => r.rps['forwarder-lru']) ? (['forwarder-lru'] as TargetKind[]) : []),
    ...(s.latency.some((r) => r.p99['forwarder-c']) ? (['forwarder-c'] as TargetKind[]) : []),
    'direct',
  ];
  legend.forEach((k, i) => {
    const x = left + i * 180;
    out.push(`<rect x="${x}" y="${H - 40}" width="14" height="14" fill="${COLOR[k]}"/>`);
    out.push(text(x + 20, H - 28, NAME[k], 'font-size="13"'));
  });
  out.push('</svg>');
  return out.join('\n');
}
