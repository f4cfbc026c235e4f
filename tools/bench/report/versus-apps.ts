/** This build against another (`--versus-apps`: a change, before and after, in one run), paired within each repetition of the comparison with NATS. */
import type { RunRecord } from '../matrix';
import { spread } from '../stats';
import { sizeLabel } from './format';
import type { Pick } from './runs';
import { versusNatsRuns } from './versus-nats';

export function versusAppsChecks(all: RunRecord[]): string[] {
  const { runs } = versusNatsRuns(all);
  const other = runs.filter((r) => r.target === 'broker-other');
  if (other.length === 0) return [];
  const { cases } = versusNatsRuns(other);
  /** This build's figure over the other's, for each repetition both ran. */
  const ratios = (size: number, inflight: number, f: Pick) =>
    spread(
      other
        .filter((o) => o.size === size && o.inflight === inflight)
        .flatMap((o) =>
          runs
            .filter((r) => r.target === 'broker' && r.rep === o.rep && r.size === size && r.inflight === inflight)
            .map((r) => f(r) / f(o)),
        ),
    );
  return [
    'this build / other build (--versus-apps), medians of ratios paired per repetition: ' +
      cases
        .map(
          ([size, inflight]) =>
            `${inflight} in flight ${sizeLabel(size)}: CPU/req ${ratios(size, inflight, (r) => r.cpuUsPerRequest).median.toFixed(2)}, req/s ${ratios(size, inflight, (r) => r.requestsPerSecond).median.toFixed(2)}, p99 ${ratios(size, inflight, (r) => r.latency.p99).median.toFixed(2)}`,
        )
        .join('; '),
  ];
}
