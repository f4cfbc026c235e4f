import { type Registry, scraped } from './metrics';
import type { CurveGuard } from '@tsr/runtime';

/** A CURVE server's counters, read at scrape time: `<prefix>_refused_keys_total{socket}` and the like. */
export function registerCurveMetrics(
  registry: Registry,
  guard: Pick<CurveGuard, 'admitted' | 'refused' | 'allowedCount'>,
  prefix: string,
): void {
  const bySocket = (pick: (name: string) => number) => () =>
    Object.fromEntries(Object.keys(guard.admitted).map((name) => [name, pick(name)]));
  scraped(
    registry,
    'counter',
    `${prefix}_refused_keys_total`,
    'CURVE connections refused because their key is not in the allow-list',
    bySocket((n) => guard.refused[n].key),
    'socket',
  );
  scraped(
    registry,
    'counter',
    `${prefix}_refused_handshakes_total`,
    'CURVE handshakes failed: a peer without CURVE or with a wrong server key',
    bySocket((n) => guard.refused[n].handshake),
    'socket',
  );
  scraped(
    registry,
    'counter',
    `${prefix}_curve_admitted_total`,
    'CURVE connections admitted',
    bySocket((n) => guard.admitted[n]),
    'socket',
  );
  scraped(
    registry,
    'gauge',
    `${prefix}_allowed_keys`,
    'Keys in the allow-list of each socket (-1: any key that knows the server key)',
    bySocket((n) => guard.allowedCount(n)),
    'socket',
  );
}
