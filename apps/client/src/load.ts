import { LazyPirateClient, type RetryPolicy } from './lazy-pirate';
import { type LoadSummary, summarize } from '@tsr/tsr';

export interface LoadOptions extends RetryPolicy {
  host: string;
  port: number;
  identity: string;
  requests: number;
  concurrency: number;
  body: Buffer;
  /** Called about every 200 ms with the number of finished requests. */
  onProgress?: (done: number) => void;
}

/**
 * Load mode: `concurrency` REQ clients share `requests` requests, each client sending its next
 * request as soon as it has the previous answer (closed loop), all latencies recorded. Request k
 * is sent as `<text> #k`.
 */
export async function runLoad(o: LoadOptions): Promise<LoadSummary> {
  const latencies = new Float64Array(o.requests);
  let next = 0;
  let answered = 0;
  let errors = 0;
  const clients = Array.from({ length: Math.min(o.concurrency, o.requests) }, (_, i) => new LazyPirateClient(o.host, o.port, `${o.identity}/${i}`, o));
  const progress = o.onProgress ? setInterval(() => o.onProgress?.(answered + errors), 200) : undefined;
  const start = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (next < o.requests) {
        // Every request its own text, so every answer is checked against its own request.
        const body = Buffer.concat([o.body, Buffer.from(` #${++next}`)]);
        const sent = performance.now();
        try {
          await client.request(body);
          latencies[answered++] = performance.now() - sent;
        } catch {
          errors++;
        }
      }
      client.close();
    }),
  );
  const seconds = (performance.now() - start) / 1000;
  clearInterval(progress);
  const retried = clients.reduce((sum, c) => sum + c.retried, 0);
  const stray = clients.reduce((sum, c) => sum + c.stray, 0);
  return summarize(latencies.subarray(0, answered), { requests: o.requests, errors, retried, stray }, seconds);
}
