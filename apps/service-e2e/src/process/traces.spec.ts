// One request's trace across real processes (docs/protocol.md, "Metadata: headers, deadlines and
// traces"; README, "Traces"): the built client, broker and worker export their spans over
// OTLP/HTTP (JSON) to a receiver in the test, which decodes what the SDK sends. The SDK cannot run
// inside Jest's sandbox, so the programs run as child processes, as in production.
//
// Two brokers, a slow worker registered with both, a client given both: its first attempt goes to
// either (at random), and that broker, once it has dispatched it, is SIGKILLed; the retry goes to
// the other. The worker is registered with each broker (and has accepted its offer of metadata)
// before the client starts: a request dispatched to a worker in the moment between its ready and
// that acceptance goes without its metadata, so without its trace (docs/protocol.md, Negotiation).
import { SpanStatusCode } from '@opentelemetry/api';
import { type AppProcess, freePort, stopApp, waitForOutput } from '@tsr/testing';
import { localDeployment } from '../support/deployment';
import { metric, scrape } from '../support/monitoring';
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from '../support/otlp-receiver';
import { eventually } from '../support/wait';

const SERVICE = 'traced';
const BODY = 'hello trace';
/** The client's wait for each attempt; the worker takes DELAY_MS, so only the kill makes the first one time out. */
const TIMEOUT_MS = 2500;
const DELAY_MS = 1200;

/** None of the OTEL_* variables of the environment the suite runs in: each program is given its own. */
const noOtel: NodeJS.ProcessEnv = Object.fromEntries(
  Object.keys(process.env).flatMap((k) => (k.startsWith('OTEL_') ? [[k, undefined]] : [])),
);

const ns = (time: string) => BigInt(time);
/** A span's duration, ms (to 0.1). */
const ms = (span: ReceivedSpan) => Number((ns(span.endTimeUnixNano) - ns(span.startTimeUnixNano)) / 100_000n) / 10;
/**
 * Slack for times compared across spans. The SDK reads a span's start from the wall clock (whole
 * ms) and its duration from the monotonic one, and maps between the two with both read at its
 * start: a process descheduled between those reads (a busy machine) places the span that much off.
 */
const SLACK_MS = 25;

/** The most the slack was drawn on so far (ms), for the figures. */
let slackUsedMs = 0;

/** How far (ms) `a` is past `b`: > 0 when the time `a` comes after `b` (which is what the slack is for). */
function pastMs(a: string, b: string): number {
  const past = Number((ns(a) - ns(b)) / 1000n) / 1000;
  slackUsedMs = Math.max(slackUsedMs, past);
  return past;
}

/** `child` runs within `parent`, both ends (to the slack). */
function expectWithin(child: ReceivedSpan, parent: ReceivedSpan): void {
  const label = `${child.serviceName}:${child.name} within ${parent.serviceName}:${parent.name}`;
  const early = pastMs(parent.startTimeUnixNano, child.startTimeUnixNano);
  const late = pastMs(child.endTimeUnixNano, parent.endTimeUnixNano);
  expect({ label, startsEarlierByMs: early <= SLACK_MS ? 0 : early, endsLaterByMs: late <= SLACK_MS ? 0 : late }).toEqual({
    label,
    startsEarlierByMs: 0,
    endsLaterByMs: 0,
  });
}

/** `later` starts once `earlier` has ended (to the slack). */
function expectAfter(later: ReceivedSpan, earlier: ReceivedSpan): void {
  const label = `${later.serviceName}:${later.name} after ${earlier.serviceName}:${earlier.name}`;
  const overlap = pastMs(earlier.endTimeUnixNano, later.startTimeUnixNano);
  expect({ label, overlapMs: overlap <= SLACK_MS ? 0 : overlap }).toEqual({ label, overlapMs: 0 });
}

/** The spans named `name` of the program `serviceName`. */
const named = (spans: readonly ReceivedSpan[], serviceName: string, name: string) =>
  spans.filter((s) => s.serviceName === serviceName && s.name === name);

describe('one request traced across client, broker and worker (real processes, OTLP/HTTP)', () => {
  const deployment = localDeployment('each', { env: noOtel });
  let receiver: OtlpReceiver;
  let traced: NodeJS.ProcessEnv;

  beforeEach(async () => {
    receiver = await startOtlpReceiver();
    // Spans leave each program 50 ms after they end rather than 5 s.
    traced = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' };
  });
  afterEach(async () => {
    await deployment.stop();
    await receiver.close();
  });

  interface Broker {
    frontend: number;
    backend: number;
    http: number;
    process: AppProcess;
  }

  async function startBroker(env: NodeJS.ProcessEnv): Promise<Broker> {
    const [frontend, backend, http] = [await freePort(), await freePort(), await freePort()];
    const proc = deployment.spawn('broker', [String(frontend), String(backend), '--http-port', String(http)], env);
    await waitForOutput(proc, /frontend tcp:\/\/\S+, backend/);
    return { frontend, backend, http, process: proc };
  }

  /**
   * A worker of `brokers` taking `delayMs` over each request, once it is registered with each (it then
   * takes metadata): its id, and the port of its metrics.
   */
  async function startWorker(brokers: Broker[], delayMs: number): Promise<{ id: string; http: number }> {
    const hosts = brokers.map((b) => `127.0.0.1:${b.backend}`).join(',');
    const http = await freePort();
    const args = ['--broker-host', hosts, '--service', SERVICE, '--delay', String(delayMs), '--http-port', String(http)];
    const worker = deployment.spawn('worker', args, traced);
    const id = (await waitForOutput(worker, /W \S+ connecting/)).replace(/ connecting.*$/, '');
    const registered = (b: Broker) => new RegExp(`registered: the broker speaks TSR/1${brokers.length > 1 ? `.*:${b.backend}\\)` : ''}`);
    for (const b of brokers) await waitForOutput(worker, registered(b));
    return { id, http };
  }

  const client = (brokers: Broker[], retries: number) =>
    deployment.spawn(
      'client',
      [
        ...['--broker-host', brokers.map((b) => `127.0.0.1:${b.frontend}`).join(',')],
        ...['--service', SERVICE, '--request', BODY, '--timeout', String(TIMEOUT_MS), '--retries', String(retries)],
      ],
      { TSR_LOG: 'error', ...traced },
    );

  const dispatched = async (b: Broker) => (metric(await scrape(b.http), 'tsr_broker_dispatched_total') ?? 0) > 0;

  it('retried after its broker was killed holding it: one trace, the failed attempt visible, the retry through the other broker to the worker', async () => {
    const brokers = [await startBroker(traced), await startBroker(traced)];
    const { id: workerId, http: workerHttp } = await startWorker(brokers, DELAY_MS);
    const started = client(brokers, 1);

    // The broker of the first attempt hands it to the worker, which takes DELAY_MS over it: that broker
    // dies holding it, once the worker holds it too (a broker counts a dispatch as it writes it, and a
    // kill may take what it wrote with it).
    const killed = await eventually(
      'a broker dispatched the request, and the worker holds it',
      async () => {
        const got = await Promise.all(brokers.map(dispatched));
        const held = (metric(await scrape(workerHttp), 'tsr_worker_held') ?? 0) > 0;
        return held ? brokers.find((_, i) => got[i]) : undefined;
      },
      10_000,
      10,
    );
    const survivor = brokers.find((b) => b !== killed) as Broker;
    expect((await stopApp(killed.process, 'SIGKILL')).code).toBe('SIGKILL');

    expect({ code: await started.exited, stdout: started.stdout, stderr: started.stderr }).toEqual({
      code: 0,
      stdout: `${BODY} ${workerId}\n`,
      stderr: '',
    });
    // The client sent its spans as it exited; the surviving broker's and the worker's come within their schedule.
    const spans = await receiver.waitFor(
      (all) =>
        named(all, 'tsr-client', `request ${SERVICE}`).length === 1 &&
        named(all, 'tsr-broker', `dispatch ${SERVICE}`).length === 1 &&
        named(all, 'tsr-worker', `process ${SERVICE}`).length === 2,
      10_000,
    );
    expect(survivor.process.child.exitCode).toBeNull();

    // One trace: every span received is the request's.
    const [request] = named(spans, 'tsr-client', `request ${SERVICE}`);
    expect(new Set(spans.map((s) => s.traceId))).toEqual(new Set([request.traceId]));
    expect(spans.map((s) => `${s.serviceName}:${s.name}`).sort()).toEqual(
      [
        `tsr-broker:dispatch ${SERVICE}`,
        `tsr-broker:queue ${SERVICE}`,
        `tsr-client:request ${SERVICE}`,
        `tsr-client:send ${SERVICE}`,
        `tsr-client:send ${SERVICE}`,
        `tsr-worker:process ${SERVICE}`,
        `tsr-worker:process ${SERVICE}`,
      ].sort(),
    );
    const messaging = { 'messaging.system': 'tsr', 'messaging.destination.name': SERVICE };
    const messageId = request.attributes['messaging.message.id'];
    expect(messageId).toMatch(/^[0-9a-f]+$/);

    // The client: the request, the root; under it its two attempts, the first timed out.
    expect(request).toMatchObject({
      parentSpanId: '',
      kind: 'CLIENT',
      resource: { 'service.name': 'tsr-client', 'telemetry.sdk.language': 'nodejs' },
      attributes: {
        ...messaging,
        'messaging.operation.type': 'send',
        'messaging.message.body.size': BODY.length,
        'tsr.timeout_ms': 2 * TIMEOUT_MS,
        'tsr.outcome': 'reply',
      },
      status: { code: SpanStatusCode.OK },
    });
    const sends = named(spans, 'tsr-client', `send ${SERVICE}`).sort(
      (a, b) => Number(a.attributes['tsr.attempt']) - Number(b.attributes['tsr.attempt']),
    );
    const attempt = {
      parentSpanId: request.spanId,
      kind: 'PRODUCER',
      attributes: { ...messaging, 'messaging.message.id': messageId, 'server.address': '127.0.0.1' },
    };
    expect(sends).toEqual([
      expect.objectContaining({
        ...attempt,
        attributes: expect.objectContaining({
          ...attempt.attributes,
          'server.port': killed.frontend,
          'tsr.attempt': 1,
          'tsr.outcome': 'timeout',
        }),
        status: { code: SpanStatusCode.ERROR, message: `no answer within ${TIMEOUT_MS} ms` },
      }),
      expect.objectContaining({
        ...attempt,
        attributes: expect.objectContaining({
          ...attempt.attributes,
          'server.port': survivor.frontend,
          'tsr.attempt': 2,
          'tsr.outcome': 'reply',
        }),
        status: { code: SpanStatusCode.OK, message: '' },
      }),
    ]);
    const [first, retry] = sends;

    // The surviving broker: the retry's wait and its dispatch, both children of the retry; nothing
    // of the killed one, gone before it could end (and send) its spans of the first attempt.
    const [queue] = named(spans, 'tsr-broker', `queue ${SERVICE}`);
    const [dispatch] = named(spans, 'tsr-broker', `dispatch ${SERVICE}`);
    const atBroker = { ...messaging, 'messaging.message.id': messageId, 'messaging.message.body.size': BODY.length };
    expect(queue).toMatchObject({
      parentSpanId: retry.spanId,
      kind: 'CONSUMER',
      resource: { 'service.name': 'tsr-broker' },
      attributes: { ...atBroker, 'messaging.operation.type': 'receive', 'tsr.outcome': 'dispatched' },
      status: { code: SpanStatusCode.UNSET },
    });
    expect(queue.attributes['tsr.timeout_ms']).toBeGreaterThan(0);
    expect(queue.attributes['tsr.timeout_ms']).toBeLessThanOrEqual(TIMEOUT_MS);
    expect(dispatch).toMatchObject({
      parentSpanId: retry.spanId,
      kind: 'PRODUCER',
      resource: queue.resource,
      attributes: { ...atBroker, 'messaging.operation.type': 'send', 'tsr.worker': workerId, 'tsr.dispatch': 1, 'tsr.outcome': 'reply' },
      status: { code: SpanStatusCode.UNSET },
    });

    // The worker: the retry under the surviving broker's dispatch; the first attempt under the
    // killed broker's dispatch, a span never received, failed when that broker's connection went.
    const processes = named(spans, 'tsr-worker', `process ${SERVICE}`);
    const served = processes.find((s) => s.parentSpanId === dispatch.spanId);
    const lost = processes.find((s) => s !== served);
    const atWorker = {
      ...messaging,
      'messaging.operation.type': 'process',
      'messaging.client.id': workerId,
      'messaging.message.body.size': BODY.length,
    };
    const resource = { 'service.name': 'tsr-worker', 'service.instance.id': workerId };
    expect(served).toMatchObject({
      kind: 'CONSUMER',
      resource,
      attributes: { ...atWorker, 'tsr.outcome': 'reply' },
      status: { code: SpanStatusCode.UNSET },
    });
    expect(served?.attributes['tsr.timeout_ms']).toBeLessThanOrEqual(Number(queue.attributes['tsr.timeout_ms']));
    expect(lost).toMatchObject({
      kind: 'CONSUMER',
      resource,
      attributes: { ...atWorker, 'tsr.outcome': 'failure' },
      status: { code: SpanStatusCode.ERROR, message: 'the connection to the broker was lost' },
    });
    expect(spans.map((s) => s.spanId)).not.toContain(lost?.parentSpanId);
    expect(lost?.parentSpanId).toMatch(/^[0-9a-f]{16}$/);

    // The times nest: the attempts within the request, one after the other; each hop within the
    // attempt it serves; the wait before the dispatch; the handler within the dispatch.
    for (const send of sends) expectWithin(send, request);
    expectAfter(retry, first);
    for (const hop of [queue, dispatch]) expectWithin(hop, retry);
    expectAfter(dispatch, queue);
    expectWithin(served as ReceivedSpan, dispatch);
    expectWithin(lost as ReceivedSpan, first);
    expect(ms(first)).toBeGreaterThanOrEqual(TIMEOUT_MS - 1);
    console.log(
      `trace (broker ${brokers.indexOf(killed) + 1} of 2 killed): request ${ms(request)} ms = send#1 ${ms(first)} ms (timeout; the worker's turn under the killed broker ${ms(lost as ReceivedSpan)} ms)` +
        ` + send#2 ${ms(retry)} ms (queue ${ms(queue)} ms, dispatch ${ms(dispatch)} ms, process ${ms(served as ReceivedSpan)} ms);` +
        ` ${receiver.requests} exports; times out of order by up to ${slackUsedMs} ms`,
    );
  }, 30_000);

  it('through a broker that does not trace: the worker continues the client attempt, its traceparent forwarded untouched', async () => {
    const broker = await startBroker({});
    const { id: workerId } = await startWorker([broker], 0);
    const started = client([broker], 0);
    expect({ code: await started.exited, stdout: started.stdout }).toEqual({ code: 0, stdout: `${BODY} ${workerId}\n` });

    const spans = await receiver.waitFor((all) => all.some((s) => s.serviceName === 'tsr-worker'), 10_000);
    expect(spans.map((s) => `${s.serviceName}:${s.name}`).sort()).toEqual([
      `tsr-client:request ${SERVICE}`,
      `tsr-client:send ${SERVICE}`,
      `tsr-worker:process ${SERVICE}`,
    ]);
    const [request] = named(spans, 'tsr-client', `request ${SERVICE}`);
    const [send] = named(spans, 'tsr-client', `send ${SERVICE}`);
    const [processed] = named(spans, 'tsr-worker', `process ${SERVICE}`);
    expect(send).toMatchObject({ traceId: request.traceId, parentSpanId: request.spanId, attributes: { 'tsr.attempt': 1 } });
    expect(processed).toMatchObject({
      traceId: request.traceId,
      parentSpanId: send.spanId,
      kind: 'CONSUMER',
      attributes: { 'tsr.outcome': 'reply', 'messaging.client.id': workerId },
    });
    expectWithin(processed, send);
  });
});
