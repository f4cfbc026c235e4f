/**
 * The charts, as Mermaid `xychart-beta` blocks in results.md (GitHub and most Markdown viewers
 * draw them; the text stays readable where they do not): throughput against workers for each
 * message size, and p99 latency at half of the broker's saturation for each size; for several
 * brokers, throughput and p99 of one broker and of two, for each credit.
 */
import { type Summary, sizeLabel } from './report';
import type { Compared } from './report/runs';
import type { SeveralBrokersRow } from './report/several-brokers';
import { type TargetKind, targetLabel } from './targets';

/** The series' names: the targets' labels, direct without its gloss. */
const NAME: Record<TargetKind, string> = { ...targetLabel, direct: 'direct' };
const round = (v: number) => (Number.isFinite(v) ? Math.round(v * 100) / 100 : 0);

function xychart(title: string, x: string[], yLabel: string, series: { name: string; values: number[] }[], kind: 'line' | 'bar'): string {
  return [
    '```mermaid',
    'xychart-beta',
    `  title "${title}"`,
    `  x-axis [${x.map((v) => `"${v}"`).join(', ')}]`,
    `  y-axis "${yLabel}"`,
    ...series.map((s) => `  ${kind} [${s.values.map(round).join(', ')}]`),
    '```',
    `Series, in order: ${series.map((s) => s.name).join(', ')}.`,
  ].join('\n');
}

/** One broker, and two with each shape of load: throughput at saturation and p99 at the fixed rate, for each credit (and size). */
function severalBrokersCharts(s: Summary): string[] {
  const rows = s.severalBrokers;
  if (rows.length === 0) return [];
  const cases = rows.filter((r) => r.shape === 'brokers-2');
  const sizes = new Set(cases.map((r) => r.size)).size;
  const x = cases.map((r) => `credit ${r.credit}${sizes > 1 ? `, ${sizeLabel(r.size)}` : ''}`);
  /** Each case's one broker, then two with each shape of load. */
  const series = (f: (p: SeveralBrokersRow['saturation']) => Compared, of: 'saturation' | 'latency') => [
    { name: NAME.broker, values: cases.map((r) => f(r[of]).b.median) },
    ...(['brokers-2', 'brokers-2-one'] as const).map((shape) => ({
      name: NAME[shape],
      values: cases.map((c) => {
        const row = rows.find((r) => r.shape === shape && r.credit === c.credit && r.size === c.size);
        return row ? f(row[of]).a.median : NaN;
      }),
    })),
  ];
  return [
    xychart(
      'Two brokers against one: throughput at saturation (median req/s)',
      x,
      'req/s',
      series((p) => p.rps, 'saturation'),
      'bar',
    ),
    xychart(
      'Two brokers against one: p99 latency at the fixed rate (ms, median)',
      x,
      'ms',
      series((p) => p.p99, 'latency'),
      'bar',
    ),
  ];
}

/** One throughput chart per size (median req/s against workers) and one p99 latency chart (per size, per target); several brokers' charts. */
export function chartsMarkdown(s: Summary): string {
  const sizes = [...new Set(s.saturation.map((r) => r.size))];
  const throughput = sizes.map((size) => {
    const rows = s.saturation.filter((r) => r.size === size);
    const kinds = (['broker', 'forwarder', 'forwarder-lru', 'direct'] as TargetKind[]).filter((k) => rows.some((r) => r.rps[k]));
    // direct has no workers: one figure per size, drawn flat across as the reference
    const direct = rows.find((r) => r.rps.direct)?.rps.direct?.median ?? NaN;
    const series = kinds.map((k) => ({ name: NAME[k], values: rows.map((r) => (k === 'direct' ? direct : (r.rps[k]?.median ?? NaN))) }));
    return xychart(
      `Throughput, ${sizeLabel(size)} requests (median req/s)`,
      rows.map((r) => `${r.workers} worker(s)`),
      'req/s',
      series,
      'line',
    );
  });
  if (s.latency.length === 0) return [...throughput, ...severalBrokersCharts(s)].join('\n\n'); // no half-saturation runs (e.g. --nats-only)
  const kinds = (['broker', 'forwarder', 'forwarder-c', 'direct'] as TargetKind[]).filter((k) => s.latency.some((r) => r.p99[k]));
  const latency = xychart(
    'p99 latency at half the broker saturation (ms, median)',
    s.latency.map((r) => sizeLabel(r.size)),
    'ms',
    kinds.map((k) => ({ name: NAME[k], values: s.latency.map((r) => r.p99[k]?.median ?? NaN) })),
    'bar',
  );
  return [...throughput, latency, ...severalBrokersCharts(s)].join('\n\n');
}
