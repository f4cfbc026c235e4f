/**
 * The benchmark's OTLP/HTTP sink, run as its own Node process (so that its CPU is not the
 * broker's): the collector the programs export their spans to in the tracing experiment.
 *
 *   otlp-sink.ts [--port P]     prints `ready <port>`, then serves until killed
 *
 * POST <prefix>/v1/traces: the export as the programs send it (OTLP JSON, gzip when
 * OTEL_EXPORTER_OTLP_COMPRESSION says so) is read whole, its spans counted by the resource's
 * service.name, and answered 200 `{}`, as a collector does: the export costs the exporter what it
 * would against a real one (the sink keeps nothing and does not parse the JSON: see `countSpans`). `<prefix>` (the path of OTEL_EXPORTER_OTLP_ENDPOINT)
 * names the variant the spans are counted for, e.g. `http://127.0.0.1:P/on-1`.
 *
 * GET /counts: what each prefix received so far, as JSON (`SinkCounts`).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

/** What one prefix (a variant) received: export requests, bytes on the wire, spans by service.name. */
export interface SinkCount {
  exports: number;
  bytes: number;
  spans: number;
  byService: Record<string, number>;
  /** Exports that could not be read (not JSON, or not OTLP): answered 400. */
  unreadable: number;
}

export type SinkCounts = Record<string, SinkCount>;

/** A service's name in a resource, or a span's id: what `countSpans` looks for. */
const TOKENS = /"key":"service\.name","value":\{"stringValue":"((?:[^"\\]|\\.)*)"\}|"spanId":"/g;

/**
 * Spans in one OTLP JSON export, by the resource's service.name. The text is scanned, not parsed
 * (the sink must cost little beside the programs on two cores): each `"spanId":` is a span (a
 * link's would count too; ours have none; `parentSpanId` does not match), counted for the last
 * service.name before it, which is its resource's (a resource comes before its spans).
 */
export function countSpans(text: string): Record<string, number> | undefined {
  if (!text.includes('"resourceSpans"')) return undefined;
  const out: Record<string, number> = {};
  let service = 'unknown';
  for (const m of text.matchAll(TOKENS)) {
    if (m[1] !== undefined) service = m[1];
    else out[service] = (out[service] ?? 0) + 1;
  }
  return out;
}

/** `/on-1/v1/traces` → `on-1`; `/v1/traces` → `` (no prefix). */
export const prefixOf = (path: string): string | undefined => {
  const m = /^\/?(.*?)\/?v1\/traces\/?$/.exec(path.split('?')[0]);
  return m ? m[1].replace(/\/+$/, '') : undefined;
};

function main(): void {
  const argv = process.argv.slice(2);
  const i = argv.indexOf('--port');
  const port = i >= 0 ? Number(argv[i + 1]) : 0;
  const counts: SinkCounts = {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (req.method === 'GET' && path === '/counts') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(counts));
        return;
      }
      const prefix = prefixOf(path);
      if (req.method !== 'POST' || prefix === undefined) {
        res.writeHead(404).end();
        return;
      }
      const raw = Buffer.concat(chunks);
      const c = (counts[prefix] ??= { exports: 0, bytes: 0, spans: 0, byService: {}, unreadable: 0 });
      c.exports++;
      c.bytes += raw.length;
      let spans: Record<string, number> | undefined;
      try {
        spans = countSpans((req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8'));
      } catch {
        spans = undefined; // not gzip after all
      }
      if (!spans) {
        c.unreadable++;
        res.writeHead(400).end();
        return;
      }
      for (const [service, n] of Object.entries(spans)) {
        c.byService[service] = (c.byService[service] ?? 0) + n;
        c.spans += n;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(port, '127.0.0.1', () => process.stdout.write(`ready ${(server.address() as AddressInfo).port}\n`));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(0));
}

if (require.main === module) main();
