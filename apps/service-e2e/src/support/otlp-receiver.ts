// A collector for the suites: an HTTP server on loopback that takes OTLP/HTTP trace exports as
// the programs send them (@opentelemetry/exporter-trace-otlp-http: JSON, `application/json`,
// gzip where OTEL_EXPORTER_OTLP_COMPRESSION says so) and keeps every span, flattened.
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };

/** One span as received, flattened: ids in hex, times in ns since the epoch as decimal strings (OTLP JSON's own). */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** '' for a root span. */
  parentSpanId: string;
  name: string;
  /** SpanKind's name: INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER (UNSPECIFIED if none). */
  kind: string;
  /** The resource's `service.name`. */
  serviceName: string;
  /** The instrumentation scope (the tracer's name). */
  scope: string;
  attributes: Record<string, AttributeValue>;
  /** The whole resource: service.*, host.name, telemetry.sdk.*, OTEL_RESOURCE_ATTRIBUTES. */
  resource: Record<string, AttributeValue>;
  /** 0 unset, 1 ok, 2 error (the API's SpanStatusCode). */
  status: { code: number; message: string };
  events: { name: string; attributes: Record<string, AttributeValue> }[];
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

export interface OtlpReceiver {
  /** For OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:<port>` (the exporter appends /v1/traces). */
  readonly endpoint: string;
  /** Every span received so far, in order of arrival. */
  readonly spans: readonly ReceivedSpan[];
  /** Export requests received (a batch each). */
  readonly requests: number;
  /** Resolves with the spans received once `predicate` holds for them (checked now and on every export), or rejects after `timeoutMs`. */
  waitFor(predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs?: number): Promise<readonly ReceivedSpan[]>;
  /** The first span for which `predicate` holds, waiting for it as `waitFor`. */
  waitForSpan(predicate: (span: ReceivedSpan) => boolean, timeoutMs?: number): Promise<ReceivedSpan>;
  /** Forgets the spans received so far. */
  clear(): void;
  close(): Promise<void>;
}

const KINDS = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

interface OtlpKeyValue {
  key: string;
  value?: OtlpAnyValue;
}
interface OtlpAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: OtlpAnyValue[] };
  kvlistValue?: { values?: OtlpKeyValue[] };
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: OtlpKeyValue[];
  events?: { name: string; attributes?: OtlpKeyValue[] }[];
  status?: { code?: number; message?: string };
}
interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpSpan[] }[];
  }[];
}

function anyValue(v: OtlpAnyValue | undefined): AttributeValue {
  if (v === undefined) return null;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.bytesValue !== undefined) return v.bytesValue;
  if (v.arrayValue !== undefined) return (v.arrayValue.values ?? []).map(anyValue);
  if (v.kvlistValue !== undefined) return attributes(v.kvlistValue.values);
  return null;
}

const attributes = (kvs: OtlpKeyValue[] | undefined): Record<string, AttributeValue> =>
  Object.fromEntries((kvs ?? []).map((kv) => [kv.key, anyValue(kv.value)]));

/** Every span of an ExportTraceServiceRequest (OTLP JSON), flattened. */
export function flattenExport(body: OtlpExport): ReceivedSpan[] {
  return (body.resourceSpans ?? []).flatMap((rs) => {
    const resource = attributes(rs.resource?.attributes);
    return (rs.scopeSpans ?? []).flatMap((ss) =>
      (ss.spans ?? []).map((s) => ({
        traceId: s.traceId,
        spanId: s.spanId,
        parentSpanId: s.parentSpanId ?? '',
        name: s.name,
        kind: KINDS[s.kind ?? 0] ?? String(s.kind),
        serviceName: String(resource['service.name'] ?? ''),
        scope: ss.scope?.name ?? '',
        attributes: attributes(s.attributes),
        resource,
        status: { code: s.status?.code ?? 0, message: s.status?.message ?? '' },
        events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributes(e.attributes) })),
        startTimeUnixNano: String(s.startTimeUnixNano),
        endTimeUnixNano: String(s.endTimeUnixNano),
      })),
    );
  });
}

const names = (spans: readonly ReceivedSpan[]) => spans.map((s) => `${s.serviceName}:${s.name}`).join(', ') || 'none';

/** Starts a receiver on 127.0.0.1, on a port of the system's choosing. */
export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  let spans: ReceivedSpan[] = [];
  let requests = 0;
  const waiting = new Set<() => void>();

  const answer = (res: ServerResponse, status: number, body: object) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  const handle = (req: IncomingMessage, res: ServerResponse, raw: Buffer) => {
    if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/traces') return answer(res, 404, { message: 'POST /v1/traces only' });
    if (!/^application\/json\b/.test(req.headers['content-type'] ?? ''))
      return answer(res, 415, { message: `JSON only (OTLP/HTTP JSON), got ${req.headers['content-type']}` });
    let received: ReceivedSpan[];
    try {
      const text = (req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw).toString('utf8');
      received = flattenExport(JSON.parse(text) as OtlpExport);
    } catch (e) {
      return answer(res, 400, { message: (e as Error).message });
    }
    requests++;
    spans = [...spans, ...received];
    answer(res, 200, {});
    for (const check of [...waiting]) check();
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handle(req, res, Buffer.concat(chunks)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const waitFor = (predicate: (spans: readonly ReceivedSpan[]) => boolean, timeoutMs = 10_000) =>
    new Promise<readonly ReceivedSpan[]>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        waiting.delete(check);
      };
      const check = () => {
        if (!predicate(spans)) return;
        done();
        resolve(spans);
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no such spans within ${timeoutMs} ms; received: ${names(spans)}`));
      }, timeoutMs);
      waiting.add(check);
      check();
    });

  return {
    endpoint: `http://127.0.0.1:${port}`,
    get spans() {
      return spans;
    },
    get requests() {
      return requests;
    },
    waitFor,
    waitForSpan: async (predicate, timeoutMs) => (await waitFor((all) => all.some(predicate), timeoutMs)).find(predicate) as ReceivedSpan,
    clear: () => {
      spans = [];
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // the exporter's keep-alive connections
      }),
  };
}
