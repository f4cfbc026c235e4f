import type { LoadSummary } from '@tsr/runtime';
// Helpers of the chaos suite: a seeded random source, the broker's summary line, the client's
// load summary, and an exactly-once check over the broker's trace of every incarnation.

/** A seeded PRNG, so a chaos schedule can be replayed from its seed. */
export { prng as seededRandom } from '../../support/fuzz';

/** The seed of a run: `CHAOS_SEED` to replay one, else a fresh one. */
export function chaosSeed(env: NodeJS.ProcessEnv = process.env): number {
  const wanted = env['CHAOS_SEED'];
  if (wanted !== undefined && wanted !== '') {
    const n = Number(wanted);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff)
      throw new Error(`CHAOS_SEED must be an integer in 0..2^32-1, not ${JSON.stringify(wanted)}`);
    return n;
  }
  return Math.floor(Math.random() * 0x100000000) >>> 0;
}

/** The counters a broker prints when it stops (`requests 12, replies 10, …`), by label. */
export type BrokerSummary = Record<string, number>;

const SUMMARY = /^\[broker\] (requests \d+, replies \d+, .*)$/;

/** The summary line in a broker's log (the last one: a restarted container logs one per run). */
export function brokerSummary(log: string): BrokerSummary | undefined {
  const line = log
    .split('\n')
    .reverse()
    .map((l) => SUMMARY.exec(l.trim())?.[1])
    .find((l) => l !== undefined);
  if (line === undefined) return undefined;
  return Object.fromEntries(
    line.split(', ').map((pair) => [pair.slice(0, pair.lastIndexOf(' ')), Number(pair.slice(pair.lastIndexOf(' ') + 1))]),
  );
}

export function sumSummaries(all: readonly BrokerSummary[]): BrokerSummary {
  const total: BrokerSummary = {};
  for (const s of all) for (const [k, v] of Object.entries(s)) total[k] = (total[k] ?? 0) + v;
  return total;
}

/** The client's `--json` load summary. */
export type { LoadSummary };

export function loadSummary(output: string): LoadSummary | undefined {
  const line = output
    .split('\n')
    .map((l) => l.trim())
    .reverse()
    .find((l) => l.startsWith('{'));
  try {
    return line ? (JSON.parse(line) as LoadSummary) : undefined;
  } catch {
    return undefined;
  }
}

const FRONTEND = /^\[broker\] frontend_message: client="([^"]*)"(?: service="[^"]*")? request="([^"]*)"$/;
const REPLY = /^\[broker\] reply: client="([^"]*)" reply="([^"]*)"$/;

export interface ExactlyOnceReport {
  /** Requests the brokers received, replies they forwarded (all incarnations). */
  requests: number;
  replies: number;
  /** Client routing ids seen (one per REQ socket: a Lazy Pirate retry opens a new one). */
  routingIds: number;
  /** Everything that breaks "one answer per request, the right one": empty when all is well. */
  violations: string[];
}

/**
 * Checks, from the broker's trace (`TSR_LOG=trace`) of each incarnation in the order they ran,
 * that no client socket was ever sent two answers for one request, nor anyone else's answer.
 *
 * A REQ socket sends its next request only after it has its answer, and matches an answer to a
 * request by nothing but order: a second reply to one request, arriving after the socket sent its
 * next one, would be taken for the answer to that next one. So, per client routing id, along the
 * brokers' logs: at most one reply after each request and before the next, none before the first.
 * `owner(routingId)` gives the request text its client sends, so a reply can be checked to be the
 * answer to it (`<request> W <worker id>`).
 */
export function checkExactlyOnce(brokerLogs: readonly string[], owner: (routingId: string) => string | undefined): ExactlyOnceReport {
  /** Per routing id: its last request's text, and how many replies it has been sent since. */
  const last = new Map<string, { body: string; replies: number }>();
  const report: ExactlyOnceReport = { requests: 0, replies: 0, routingIds: 0, violations: [] };
  const violation = (text: string) => {
    if (report.violations.length < 20) report.violations.push(text);
    else if (report.violations.length === 20) report.violations.push('…');
  };
  brokerLogs.forEach((log, incarnation) => {
    const at = `broker #${incarnation + 1}`;
    for (const line of log.split('\n')) {
      const request = FRONTEND.exec(line);
      if (request) {
        const [, client, body] = request;
        report.requests++;
        if (!last.has(client)) report.routingIds++;
        last.set(client, { body, replies: 0 });
        const expected = owner(client);
        // The load mode numbers its requests: `<text> #<n>`.
        if (expected === undefined) violation(`${at}: request from an unknown client ${client}`);
        else if (!body.startsWith(`${expected} #`))
          violation(`${at}: ${client} sent ${JSON.stringify(body)}, its client sends ${JSON.stringify(expected)} #n`);
        continue;
      }
      const reply = REPLY.exec(line);
      if (!reply) continue;
      const [, client, body] = reply;
      report.replies++;
      const sent = last.get(client);
      if (sent === undefined) violation(`${at}: reply ${JSON.stringify(body)} sent to ${client} before any request of it`);
      else if (!body.startsWith(`${sent.body} W `))
        violation(`${at}: reply ${JSON.stringify(body)} sent to ${client}, whose last request was ${JSON.stringify(sent.body)}`);
      else if (sent.replies >= 1) violation(`${at}: a second reply (${JSON.stringify(body)}) to one request of ${client}`);
      if (sent) sent.replies++;
    }
  });
  return report;
}
