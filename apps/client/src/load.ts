import { Client, type ClientOptions, NoAnswerError, NoServiceError, PlainBrokerError } from '@tsr-broker/client';
import { type LoadSummary, lookupAddresses, summarize } from '@tsr/runtime';

export interface LoadOptions extends Omit<ClientOptions, 'identity'> {
  identity: string;
  service: string;
  requests: number;
  concurrency: number;
  body: Buffer;
  /** Stop when this many requests in a row got no answer after their retries (or no worker serves the service); 0 never stops. */
  giveUpAfter: number;
  /** Stop sending new requests after this many seconds; 0 is no limit. */
  durationS: number;
  /** Given the clients once they are made (to follow their connections). */
  onClients?: (clients: readonly Client[]) => void;
  /** Called every `progressMs` with what is done so far. */
  onProgress?: (progress: LoadProgress) => void;
  progressMs?: number;
}

export interface LoadProgress {
  sent: number;
  answered: number;
  errors: number;
}

export interface LoadResult extends LoadSummary {
  /** Why the run gave up before all its requests, if it did (no broker answering, no worker for the service). */
  gaveUp?: string;
}

export interface LoadOutcome {
  result: LoadResult;
  /** The error that made it give up (for the exit code). */
  cause?: Error;
}

/**
 * One look-up of a broker name at a time for all the clients of a run: they look their brokers up
 * together (they start together, and look again at one interval), so one answer serves them all.
 */
function sharedLookup(lookup: (host: string) => Promise<string[]>): (host: string) => Promise<string[]> {
  const underWay = new Map<string, Promise<string[]>>();
  return (host) => {
    let answer = underWay.get(host);
    if (!answer) {
      answer = lookup(host).finally(() => underWay.delete(host));
      underWay.set(host, answer);
    }
    return answer;
  };
}

/** Errors that the next request would meet as well: a broker that is not there, a service nobody serves. */
const repeats = (e: unknown) => e instanceof NoAnswerError || e instanceof NoServiceError;

/**
 * Load mode: `concurrency` clients (a connection each) share `requests` requests, each client
 * sending its next request as soon as it has the previous answer (closed loop), all latencies
 * recorded. Request k is sent as `<text> #k`. It cannot hang on a broker that is not there or a
 * service nobody serves: after `giveUpAfter` such failures in a row it stops every client and says
 * why; a broker that answers outside the envelope (a seed broker without --plain) stops it at once.
 */
export async function runLoad(o: LoadOptions): Promise<LoadOutcome> {
  const latencies = new Float64Array(o.requests);
  let next = 0;
  let answered = 0;
  let errors = 0;
  let failedInARow = 0;
  let stopped = false;
  let gaveUp: { why: string; cause: Error } | undefined;
  const lookup = sharedLookup(o.lookup ?? lookupAddresses);
  const clients = Array.from(
    { length: Math.min(o.concurrency, o.requests) },
    (_, i) => new Client({ ...o, identity: `${o.identity}/${i}`, lookup }),
  );
  o.onClients?.(clients);
  const giveUp = (why: string, cause: Error) => {
    gaveUp ??= { why, cause };
    stopped = true;
    for (const c of clients) c.close(); // requests in flight end at once, as errors
  };
  const progress = o.onProgress ? setInterval(() => o.onProgress?.({ sent: next, answered, errors }), o.progressMs ?? 200) : undefined;
  const deadline = o.durationS > 0 ? setTimeout(() => (stopped = true), o.durationS * 1000) : undefined;
  const start = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < o.requests && !stopped) {
        // Every request its own text: in plain mode, every answer is checked against its own request.
        const body = Buffer.concat([o.body, Buffer.from(` #${++next}`)]);
        const sent = performance.now();
        try {
          await client.request(o.service, body);
          latencies[answered++] = performance.now() - sent;
          failedInARow = 0;
        } catch (e) {
          errors++;
          if (e instanceof PlainBrokerError) giveUp(e.message, e);
          else if (repeats(e) && o.giveUpAfter > 0 && ++failedInARow >= o.giveUpAfter)
            giveUp(
              `${failedInARow} requests in a row ${e instanceof NoServiceError ? 'were refused' : 'got no answer'} (${(e as Error).message})`,
              e as Error,
            );
        }
      }
      client.close();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  clearInterval(progress);
  clearTimeout(deadline);
  const retried = clients.reduce((sum, c) => sum + c.retried, 0);
  const stray = clients.reduce((sum, c) => sum + c.stray, 0);
  const summary = summarize(latencies.subarray(0, answered), { requests: next, errors, retried, stray }, seconds);
  return gaveUp === undefined ? { result: summary } : { result: { ...summary, gaveUp: gaveUp.why }, cause: gaveUp.cause };
}
