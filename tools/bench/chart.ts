/**
 * The charts, as Mermaid `xychart-beta` blocks in results.md (GitHub and most Markdown viewers
 * draw them; the text stays readable where they do not): throughput against workers for each
 * message size, and p99 latency at half of the broker's saturation for each size.
 */
import { type Summary, sizeLabel } from './report';
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

/** One throughput chart per size (median req/s against workers) and one p99 latency chart (per size, per target). */
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
  if (s.latency.length === 0) return throughput.join('\n\n'); // no half-saturation runs (e.g. --nats-only)
  const kinds = (['broker', 'forwarder', 'forwarder-c', 'direct'] as TargetKind[]).filter((k) => s.latency.some((r) => r.p99[k]));
  const latency = xychart(
    'p99 latency at half the broker saturation (ms, median)',
    s.latency.map((r) => sizeLabel(r.size)),
    'ms',
    kinds.map((k) => ({ name: NAME[k], values: s.latency.map((r) => r.p99[k]?.median ?? NaN) })),
    'bar',
  );
  return [...throughput, latency].join('\n\n');
}
