/**
 * What the brokers count of leases (docs/protocol.md, "Several brokers"), read from their /metrics
 * at the ends of a measured window: windows that workers moved to a broker (`TSR/1 CREDIT`) and
 * demands for credit it sent (`TSR/1 WANT`).
 */
export interface CreditCounters {
  moves: number;
  wants: number;
}

const NAMES: Record<keyof CreditCounters, string> = {
  moves: 'tsr_broker_credit_moves_total',
  wants: 'tsr_broker_credit_wants_total',
};

/** A counter without labels in a /metrics page (Prometheus' text format); NaN when it is not there. */
export function counterValue(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? NaN : Number(line.slice(name.length + 1));
}

/** The counters in a /metrics page; NaN for one that is not there. */
export function parseCreditCounters(text: string): CreditCounters {
  return { moves: counterValue(text, NAMES.moves), wants: counterValue(text, NAMES.wants) };
}

/** Replies the broker whose HTTP endpoint is at `port` forwarded to clients so far (tsr_broker_replies_total; NaN when it cannot be read). */
export const readBrokerReplies = (port: number): Promise<number> =>
  fetch(`http://127.0.0.1:${port}/metrics`).then(
    async (r) => counterValue(await r.text(), 'tsr_broker_replies_total'),
    () => NaN,
  );

/** The counters summed over the brokers whose HTTP endpoints are at `ports` (NaN when one cannot be read). */
export async function readCreditCounters(ports: readonly number[]): Promise<CreditCounters> {
  const pages = await Promise.all(
    ports.map((port) =>
      fetch(`http://127.0.0.1:${port}/metrics`).then(
        async (r) => parseCreditCounters(await r.text()),
        () => ({ moves: NaN, wants: NaN }),
      ),
    ),
  );
  return pages.reduce((a, c) => ({ moves: a.moves + c.moves, wants: a.wants + c.wants }), { moves: 0, wants: 0 });
}

/** What happened between two readings: NaN when nothing was read (no HTTP endpoint). */
export const creditDelta = (before: CreditCounters | undefined, after: CreditCounters | undefined): CreditCounters => ({
  moves: (after?.moves ?? NaN) - (before?.moves ?? NaN),
  wants: (after?.wants ?? NaN) - (before?.wants ?? NaN),
});
