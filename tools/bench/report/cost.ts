/**
 * What a feature costs the broker: the broker with it (`broker-metrics`: its HTTP endpoint scraped
 * every second; `broker-curve`: CURVE on every socket) against the plain broker, in the saturation
 * runs, paired within each repetition. Metrics have a target: under 5 % of throughput.
 */
import { type Spread, spread } from '../stats';
import type { TargetKind } from '../targets';
import { sizeLabel } from './format';
import { type RunIndex, rpsRatio } from './runs';
import type { SaturationRow } from './saturation';

export interface CostRow {
  size: number;
  workers: number;
  /** req/s with / req/s without, paired within each repetition. */
  ratio: Spread;
  ratios: number[];
  /** CPU µs per request of the broker with / without, paired: steadier than req/s on a busy machine. */
  cpuRatios: number[];
}

/** The metrics target: what scraping may cost, in % of throughput. */
const METRICS_TARGET_PERCENT = 5;

/** `kind` against the broker, in each case where the broker's saturation ran. */
export const summarizeCost = (x: RunIndex, saturation: SaturationRow[], kind: TargetKind): CostRow[] =>
  saturation
    .map((r) => {
      const ratios = x.pairs('saturation', kind, 'broker', r.size, r.workers, rpsRatio);
      const cpuRatios = x.pairs('saturation', kind, 'broker', r.size, r.workers, (a, b) => a.cpuUsPerRequest / b.cpuUsPerRequest);
      return { size: r.size, workers: r.workers, ratio: spread(ratios), ratios, cpuRatios };
    })
    .filter((r) => r.ratio.n > 0);

/** The median ratios with / without, over every paired run, and per case. */
function costLine(rows: CostRow[], what: string) {
  const all = spread(rows.flatMap((r) => r.ratios));
  const cpu = spread(rows.flatMap((r) => r.cpuRatios));
  const cost = (1 - all.median) * 100;
  return {
    cost,
    text:
      `median throughput ${what} / without ${all.median.toFixed(3)} (cost ${cost.toFixed(1)} %, quartiles ${all.q1.toFixed(3)}–${all.q3.toFixed(3)}) over ${all.n} paired runs; ` +
      `broker CPU µs per request ${what} / without ${cpu.median.toFixed(3)}; ` +
      `per case ${rows.map((r) => `${sizeLabel(r.size)}/W${r.workers} ${r.ratio.median.toFixed(2)}`).join(', ')}`,
  };
}

export function costChecks(metrics: CostRow[], curve: CostRow[]): string[] {
  const checks: string[] = [];
  if (metrics.length) {
    const { cost, text } = costLine(metrics, 'with metrics');
    checks.push(
      `metrics cost target (< ${METRICS_TARGET_PERCENT} % of throughput, /metrics and /status scraped every second): ${cost < METRICS_TARGET_PERCENT ? 'met' : 'NOT met'}, ${text}`,
    );
  }
  if (curve.length)
    checks.push(`CURVE cost (encryption on both sockets, keys checked at connection): ${costLine(curve, 'with CURVE').text}`);
  return checks;
}
