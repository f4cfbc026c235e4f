import { type CurvePeerKeys, type LoadSummary, summarize } from '@tsr/tsr';
import { LazyPirateClient, NoAnswerError, type RetryPolicy } from './lazy-pirate';

export interface LoadOptions extends RetryPolicy {
  host: string;
  port: number;
  identity: string;
  requests: number;
  concurrency: number;
  body: Buffer;
  /** Stop when this many requests in a row got no answer after their retries; 0 never stops. */
  giveUpAfter: number;
  /** Stop sending new requests after this many seconds; 0 is no limit. */
  durationS: number;
  /** Called every `progressMs` with what is done so far. */
  onProgress?: (progress: LoadProgress) => void;
  progressMs?: number;
  curve?: CurvePeerKeys;
}

export interface LoadProgress {
  sent: number;
  answered: number;
  errors: number;
}

export interface LoadResult extends LoadSummary {
  /** Why the run gave up before all its requests, if it did (no broker answering). */
  gaveUp?: string;
}

/**
 * Load mode: `concurrency` REQ clients share `requests` requests, each client sending its next
 * request as soon as it has the previous answer (closed loop), all latencies recorded. Request k
 * is sent as `<text> #k`. It cannot hang on a broker that is not there: after `giveUpAfter`
 * requests in a row with no answer it stops every client and says why.
 */
export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const latencies = new Float64Array(o.requests);
  let next = 0;
  let answered = 0;
  let errors = 0;
  let unansweredInARow = 0;
  let stopped = false;
  let gaveUp: string | undefined;
  const clients = Array.from({ length: Math.min(o.concurrency, o.requests) }, (_, i) => new LazyPirateClient(o.host, o.port, `${o.identity}/${i}`, o, o.curve));
  const giveUp = (why: string) => {
    gaveUp ??= why;
    stopped = true;
    for (const c of clients) c.close(); // requests in flight end at once, as errors
  };
  const progress = o.onProgress ? setInterval(() => o.onProgress?.({ sent: next, answered, errors }), o.progressMs ?? 200) : undefined;
  const deadline = o.durationS > 0 ? setTimeout(() => (stopped = true), o.durationS * 1000) : undefined;
  const start = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < o.requests && !stopped) {
        // Every request its own text, so every answer is checked against its own request.
        const body = Buffer.concat([o.body, Buffer.from(` #${++next}`)]);
        const sent = performance.now();
        try {
          await client.request(body);
          latencies[answered++] = performance.now() - sent;
          unansweredInARow = 0;
        } catch (e) {
          errors++;
          if (!(e instanceof NoAnswerError)) continue;
          if (o.giveUpAfter > 0 && ++unansweredInARow >= o.giveUpAfter) giveUp(`${unansweredInARow} requests in a row got no answer (${e.message})`);
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
  return gaveUp === undefined ? summary : { ...summary, gaveUp };
}
