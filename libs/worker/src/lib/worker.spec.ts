import { type AddressInfo, type Socket, createServer } from 'node:net';
import { Router } from 'zeromq';
import { type Context, type ContextManager, ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { type BatchRecord, type Headers, encodeMetadata, packBatches, unpackBatch } from '@tsr/protocol';
import { bindAnyLoopbackPort } from '@tsr/runtime';
import { freePort } from '@tsr/zmtp/testing';
import type { Handler, RequestInfo, WorkerLogger } from './options';
import { Worker, serve } from './worker';

const text = (frames: Buffer[]) => frames.map((f) => f.toString());
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** The seed's echo after `delayMs`: `<request> W test`. */
const echo =
  (delayMs: number): Handler =>
  (request) =>
    delayMs === 0 ? `${request} W test` : sleep(delayMs).then(() => `${request} W test`);

interface Setup {
  handler?: Handler;
  heartbeat?: number;
  liveness?: number;
  service?: string;
  credit?: number;
  logger?: WorkerLogger;
  drainMs?: number;
}

/** A real ROUTER playing the broker, and one worker connected to it. */
async function setup(o: Setup = {}) {
  // handover, as our broker: a reconnecting worker keeps its id and takes over from its old connection.
  const broker = new Router({ linger: 0, handover: true });
  const port = await bindAnyLoopbackPort(broker);
  const fatal: Error[] = [];
  const worker = serve({
    broker: `127.0.0.1:${port}`,
    identity: 'W test',
    handler: o.handler ?? echo(0),
    heartbeat: o.heartbeat ?? 10_000,
    liveness: o.liveness ?? 3,
    service: o.service,
    credit: o.credit,
    logger: o.logger,
    drainMs: o.drainMs,
    onFatal: (e) => fatal.push(e),
  });
  return { broker, worker, fatal };
}

/** Everything the broker receives within `ms`, bodies only. */
async function bodiesWithin(broker: Router, ms: number): Promise<string[]> {
  const seen: string[] = [];
  const until = Date.now() + ms;
  for (;;) {
    const next = await Promise.race([broker.receive().then(text), sleep(until - Date.now()).then(() => undefined)]);
    if (!next) return seen;
    seen.push(next.slice(4).join('|'));
  }
}

describe('Worker', () => {
  let cleanup: () => void = () => undefined;
  afterEach(() => cleanup());

  it('announces itself with the seed ready frames carrying TSR/1 READY, then answers with what its handler returns', async () => {
    const { broker, worker } = await setup({ handler: echo(150) });
    cleanup = () => (worker.close(), broker.close());
    expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 READY']);
    const sent = Date.now();
    await broker.send(['W test', '', 'C1', '', 'hello']);
    expect(text(await broker.receive())).toEqual(['W test', '', 'C1', '', 'hello W test']);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(140);
  });

  it('reports in its status whether it is connected, and whether it is registered (a broker that heartbeats)', async () => {
    const { broker, worker } = await setup({ heartbeat: 50 });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive(); // its ready: connected
    expect(worker.status()).toMatchObject({ connected: true, registered: false });
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    await broker.receive(); // its heartbeat back
    expect(worker.status()).toMatchObject({ connected: true, registered: true });
  });

  it('names its service and its credit in its ready', async () => {
    const { broker, worker } = await setup({ service: 'upper', credit: 8 });
    cleanup = () => (worker.close(), broker.close());
    expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 READY credit=8 service=upper']);
    expect(worker.status()).toMatchObject({ id: 'W test', service: 'upper', credit: 8 });
  });

  it('serves one request at a time, in order', async () => {
    const { broker, worker } = await setup({ handler: echo(100) });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    const sent = Date.now();
    await broker.send(['W test', '', 'C1', '', 'one']);
    await broker.send(['W test', '', 'C2', '', 'two']);
    expect(text(await broker.receive())[4]).toBe('one W test');
    expect(text(await broker.receive())[4]).toBe('two W test');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(190);
    expect(worker.served).toBe(2);
  });

  it('hands the handler the request bytes and who it is, and sends Buffers as they are', async () => {
    const seen: unknown[] = [];
    const { broker, worker } = await setup({
      service: 'bytes',
      handler: (request, info) => {
        seen.push({ request, info });
        return Buffer.from([0, 255, ...request]);
      },
    });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', 'C1', '', Buffer.from([1, 2])]);
    const [, , ticket, , body] = await broker.receive();
    expect([ticket.toString(), [...body]]).toEqual(['C1', [0, 255, 1, 2]]);
    // Without metadata: no headers, no deadline, a signal that never fires by itself, no trace.
    expect(seen).toEqual([{ request: Buffer.from([1, 2]), info: expect.objectContaining({ service: 'bytes', worker: 'W test' }) }]);
    const [{ info }] = seen as { info: RequestInfo }[];
    expect([info.headers, info.deadline, info.timeoutMs, info.signal.aborted, Object.isFrozen(info.headers)]).toEqual([
      {},
      undefined,
      undefined,
      false,
      true,
    ]);
    expect(trace.getSpanContext(info.context)).toMatchObject({ traceId: '0'.repeat(32) });
  });

  it('with a handler that answers at once, answers every queued request of a burst, in order', async () => {
    const { broker, worker } = await setup();
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    const requests = Array.from({ length: 50 }, (_, i) => `r${i}`);
    for (const r of requests) await broker.send(['W test', '', `C${r}`, '', r]);
    const answers: string[][] = [];
    while (answers.length < requests.length) answers.push(text(await broker.receive()));
    expect(answers).toEqual(requests.map((r) => ['W test', '', `C${r}`, '', `${r} W test`]));
    expect(worker.served).toBe(50);
  });

  it('answers a failing handler with a failure frame to a TSR/1 broker, and serves on', async () => {
    const errors: string[] = [];
    const handler: Handler = async (request) => {
      if (request.toString() === 'bad') throw new Error('cannot serve "bad"');
      if (request.toString() === 'worse') throw 'a string';
      return `${request} ok`;
    };
    const { broker, worker } = await setup({ handler, logger: { info: () => {}, error: (m) => errors.push(m) } });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    for (const deadline = Date.now() + 2000; !worker.registration().ok && Date.now() < deadline; ) await sleep(5); // TSR/1 spoken
    for (const r of ['bad', 'good', 'worse']) await broker.send(['W test', '', `C-${r}`, '', r]);
    expect(text(await broker.receive())).toEqual(['W test', '', 'C-bad', '', 'TSR/1 ERR', 'cannot serve "bad"']);
    expect(text(await broker.receive())).toEqual(['W test', '', 'C-good', '', 'good ok']);
    expect(text(await broker.receive())).toEqual(['W test', '', 'C-worse', '', 'TSR/1 ERR', 'a string']);
    expect(worker.status()).toMatchObject({ served: 1, failed: 2 });
    expect(errors).toEqual(['handler failed: cannot serve "bad"', 'handler failed: a string']);
  });

  it('answers a failing handler with a plain TSR/1 ERR reply to a seed broker (which would take a failure frame for the reply)', async () => {
    const { broker, worker } = await setup({
      handler: () => {
        throw new Error('x'.repeat(3000));
      },
    });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', 'C1', '', 'boom']);
    const answer = text(await broker.receive());
    expect(answer.slice(0, 4)).toEqual(['W test', '', 'C1', '']);
    expect(answer[4]).toBe(`TSR/1 ERR handler ${'x'.repeat(1024)}`);
    expect(answer).toHaveLength(5);
  });

  it('takes a handler answer that is neither a Buffer nor a string for a failure', async () => {
    const { broker, worker } = await setup({ handler: () => undefined as unknown as string });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', 'C1', '', 'x']);
    expect(text(await broker.receive())[4]).toBe('TSR/1 ERR handler handler answered undefined, expected a Buffer or a string');
  });

  it('reports the time of each answer, reply or failure', async () => {
    const served: [number, string][] = [];
    const broker = new Router({ linger: 0 });
    const port = await bindAnyLoopbackPort(broker);
    const handler: Handler = (r) => sleep(60).then(() => (r.toString() === 'bad' ? Promise.reject(new Error('no')) : 'ok'));
    const worker = serve({ broker: { host: '127.0.0.1', port }, handler, onServed: (s, outcome) => served.push([s, outcome]) });
    cleanup = () => (worker.close(), broker.close());
    const [id] = await broker.receive();
    await broker.send([id, '', 'C1', '', 'good']);
    await broker.receive();
    await broker.send([id, '', 'C2', '', 'bad']);
    await broker.receive();
    expect(served.map(([, outcome]) => outcome)).toEqual(['reply', 'failure']);
    for (const [seconds] of served) expect(seconds).toBeGreaterThanOrEqual(0.055);
    expect(id.toString()).toMatch(/^W \S+-\d+-[0-9a-f]{6}$/);
  });

  it('sends no heartbeat to a broker that sends none (a seed broker), and never reconnects', async () => {
    const { broker, worker } = await setup({ heartbeat: 20, liveness: 2 });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    const next = broker.receive().then(text);
    const silence = (ms: number) => sleep(ms).then(() => 'nothing');
    expect(await Promise.race([next, silence(400)])).toBe('nothing');
    expect(worker.reconnects).toBe(0);
    worker.close(); // and no goodbye either
    expect(await Promise.race([next, silence(300)])).toBe('nothing');
    cleanup = () => broker.close();
  });

  it('heartbeats back once the broker does, and reconnects with a new ready when the broker falls silent', async () => {
    const { broker, worker } = await setup({ heartbeat: 50, service: 'svc' });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 HB']);
    // Silence from now on: within a few liveness windows the worker starts over.
    let frames: string[];
    do frames = text(await broker.receive());
    while (frames[4] === 'TSR/1 HB');
    expect(frames).toEqual(['W test', '', '', '', 'TSR/1 READY service=svc']);
    expect(worker.reconnects).toBe(1);
  });

  it('abandons the request it held when it reconnects: the broker re-dispatches it, so no second answer', async () => {
    const { broker, worker } = await setup({ handler: echo(400), heartbeat: 50 });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    await broker.send(['W test', '', 'C1', '', 'held']);
    // Silence: the worker reconnects (about 150 ms) before its 400 ms of work is done.
    const seen = await bodiesWithin(broker, 1000);
    expect(seen).toContain('TSR/1 READY credit=0'); // the abandoned request, still in its handler, holds its one credit
    expect(seen.filter((b) => b.startsWith('held'))).toEqual([]);
    expect(worker.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('says goodbye when it stops, only to a broker that speaks heartbeats, and close resolves once it is delivered', async () => {
    const { broker, worker } = await setup({ heartbeat: 50 });
    cleanup = () => broker.close();
    await broker.receive();
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    await broker.receive(); // its heartbeat back
    await worker.close(); // resolves once the goodbye is written and the connection ended (or the linger ran out)
    let frames: string[];
    do frames = text(await broker.receive());
    while (frames[4] === 'TSR/1 HB');
    expect(frames).toEqual(['W test', '', '', '', 'TSR/1 BYE']);
  });

  describe('drains at close', () => {
    /** A handler that finishes `finish` 100 ms after its signal fires, and gives up on anything else when it fires. */
    const draining: Handler = (request, info) =>
      new Promise((resolve, reject) =>
        info.signal.addEventListener('abort', () =>
          request.toString() === 'finish' ? setTimeout(() => resolve('finished'), 100) : reject(info.signal.reason),
        ),
      );
    /** What the broker receives up to the goodbye, heartbeats left out. */
    async function untilGoodbye(broker: Router): Promise<string[][]> {
      const seen: string[][] = [];
      for (;;) {
        const frames = text(await broker.receive());
        if (frames[4] === 'TSR/1 HB') continue;
        seen.push(frames.slice(2));
        if (frames[4] === 'TSR/1 BYE') return seen;
      }
    }
    async function started(requests: string[]) {
      const { broker, worker } = await setup({ heartbeat: 1000, credit: 2, handler: draining }); // no reconnect meanwhile
      cleanup = () => broker.close();
      await broker.receive();
      await broker.send(['W test', '', '', '', 'TSR/1 HB']);
      for (const [i, r] of requests.entries()) await broker.send(['W test', '', `C${i + 1}`, '', r]);
      await sleep(50); // the first is in its handler, the second queued
      return { broker, worker };
    }

    it('sends the reply a handler makes after its signal is aborted, then the goodbye; a queued request is left to the broker', async () => {
      const { broker, worker } = await started(['finish', 'queued']);
      const closing = performance.now();
      const [seen] = await Promise.all([untilGoodbye(broker), worker.close()]);
      expect(seen).toEqual([
        ['C1', '', 'finished'],
        ['', '', 'TSR/1 BYE'],
      ]);
      expect(performance.now() - closing).toBeGreaterThanOrEqual(90);
      expect(worker.served).toBe(1);
    });

    it('sends nothing for a handler that gives up because the worker closes: the broker gives its request to another worker', async () => {
      const { broker, worker } = await started(['give up']);
      const [seen] = await Promise.all([untilGoodbye(broker), worker.close()]);
      expect(seen).toEqual([['', '', 'TSR/1 BYE']]);
      expect([worker.served, worker.failed]).toEqual([0, 0]);
    });
  });

  it('reports a failure of its receive loop as fatal instead of going deaf', async () => {
    // A logger that throws while a request is traced stands for any bug on the receive path.
    const throwing: WorkerLogger = {
      info: () => {},
      error: () => {},
      tracing: true,
      step: () => {
        throw new Error('tracer bug');
      },
    };
    const { broker, worker, fatal } = await setup({ logger: throwing });
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', 'C1', '', 'boom']);
    for (const deadline = Date.now() + 5000; fatal.length === 0 && Date.now() < deadline; ) await sleep(10);
    expect(fatal.map((e) => e.message)).toEqual(['broker receive loop failed: tracer bug']);
    expect(worker.liveness()).toEqual({ ok: false, why: 'broker receive loop failed: tracer bug' });
  });

  it('says once that nothing listens where the broker should be, and why it is not ready, while it keeps trying', async () => {
    const errors: string[] = [];
    const port = await freePort(); // nothing listens there
    const worker = serve({
      broker: `127.0.0.1:${port}`,
      identity: 'W test',
      handler: echo(0),
      logger: { info: () => {}, error: (m) => errors.push(m) },
    });
    cleanup = () => worker.close();
    await sleep(700); // several dials (100 ms, then doubling)
    expect(errors).toEqual([
      `cannot reach the broker at tcp://127.0.0.1:${port}: connection refused (nothing listens on that port) (connect ECONNREFUSED 127.0.0.1:${port}); trying again`,
    ]);
    expect(worker.registration()).toEqual({
      ok: false,
      why: expect.stringContaining(`cannot reach the broker at tcp://127.0.0.1:${port}: connection refused`),
    });
  });

  it('says how its connections go in events(): refused once with the reason, connected, disconnected; the loop ends at close', async () => {
    const port = await freePort(); // nothing listens there yet
    const address = `tcp://127.0.0.1:${port}`;
    const worker = serve({
      broker: `127.0.0.1:${port}`,
      identity: 'W test',
      handler: echo(0),
      logger: { info: () => {}, error: () => {} },
    });
    const broker = new Router({ linger: 0, handover: true });
    cleanup = () => (worker.close(), broker.close());
    const events = worker.events();
    const started = performance.now();
    expect((await events.next()).value).toEqual({
      type: 'refused',
      address,
      reason: expect.stringMatching(/^connection refused \(nothing listens/),
    });
    expect(performance.now() - started).toBeLessThan(1000);
    await sleep(400); // dials again meanwhile, for the same reason: not said again
    await broker.bind(address);
    expect((await events.next()).value).toEqual({ type: 'connected', address });
    expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 READY']);
    broker.close();
    expect((await events.next()).value).toEqual({ type: 'disconnected', address });
    await worker.close();
    const rest: unknown[] = [];
    for await (const e of events) rest.push(e);
    expect(rest.every((e) => (e as { type: string }).type === 'refused')).toBe(true);
  });

  it('says what it recovers from as warnings, and each connection at debug, where its logger has them', async () => {
    const said: string[] = [];
    const port = await freePort(); // nothing listens there yet
    const address = `tcp://127.0.0.1:${port}`;
    const logger: WorkerLogger = {
      info: () => {},
      error: (m) => said.push(`error ${m}`),
      warn: (m) => said.push(`warn ${m}`),
      debug: (m) => said.push(`debug ${m}`),
    };
    const worker = serve({ broker: `127.0.0.1:${port}`, identity: 'W test', handler: echo(0), logger });
    const broker = new Router({ linger: 0, handover: true });
    cleanup = () => (worker.close(), broker.close());
    const saidSoFar = async (n: number) => {
      for (const until = Date.now() + 3000; said.length < n && Date.now() < until; ) await sleep(10);
    };
    await saidSoFar(1);
    await broker.bind(address);
    await saidSoFar(2);
    await broker.receive(); // its ready
    broker.close();
    await saidSoFar(3);
    expect(said.slice(0, 3)).toEqual([
      expect.stringMatching(new RegExp(`^warn cannot reach the broker at ${address}: connection refused .*; trying again$`)),
      `debug connected to ${address}`,
      `debug connection to ${address} lost`,
    ]);
  });

  it('counts and logs each connection dropped because the broker broke ZMTP, and dials again', async () => {
    // A "broker" that answers every connection with a ZMTP 2.0 greeting: each is dropped from its eleventh byte.
    const connections: Socket[] = [];
    const fake = createServer(
      (c) => (connections.push(c), c.on('error', () => {}).write(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x01, 0x05]))),
    );
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const errors: string[] = [];
    const worker = serve({
      broker: `127.0.0.1:${(fake.address() as AddressInfo).port}`,
      identity: 'W test',
      handler: echo(0),
      logger: { info: () => {}, error: (m) => errors.push(m) },
    });
    cleanup = () => (worker.close(), fake.close(), connections.forEach((c) => c.destroy()));
    for (const deadline = Date.now() + 5000; worker.protocolErrors < 2 && Date.now() < deadline; ) await sleep(10);
    expect(worker.status().protocolErrors).toBeGreaterThanOrEqual(2);
    expect(connections.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]).toMatch(/^dropped the connection to the broker: .*ZMTP/);
  });

  it('is live from the start, and ready only while a broker that heartbeats is heard within the liveness window', async () => {
    const { broker, worker } = await setup({ heartbeat: 50 });
    cleanup = () => (worker.close(), broker.close());
    expect(worker.liveness().ok).toBe(true);
    await broker.receive(); // its ready
    expect(worker.registration()).toMatchObject({ ok: false, why: expect.stringContaining('not registered') });
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    for (const deadline = Date.now() + 2000; !worker.registration().ok && Date.now() < deadline; ) await sleep(5);
    expect(worker.registration().ok).toBe(true);
    // The broker now says nothing: past 3 × 50 ms the worker is no longer ready.
    for (const deadline = Date.now() + 2000; worker.registration().ok && Date.now() < deadline; ) await sleep(5);
    expect(worker.registration().ok).toBe(false);
  });

  it.each([
    [{ service: 'tsr.services' }, /belong to the broker/],
    [{ service: 'a b' }, /service name "a b" must be/],
    [{ credit: 0 }, /credit must be an integer 1-1000, got 0/],
    [{ heartbeat: 1.5 }, /heartbeat must be an integer/],
    [{ identity: '\0x' }, /identity must be/],
    [{ broker: 'nowhere' }, /broker address must be tcp:\/\/host:port or host:port/],
    [{ handler: 'echo' }, /handler must be a function/],
  ])('refuses bad options %j with an error saying why', (bad, message) => {
    expect(() => new Worker({ broker: '127.0.0.1:1', handler: () => '', ...(bad as object) })).toThrow(message);
  });

  describe('batches', () => {
    /** Registers the worker with TSR/1 and offers batches of at most `max` bytes; resolves once it accepted. */
    async function offerBatches(broker: Router, max = 1 << 20): Promise<void> {
      expect(text(await broker.receive())[4]).toMatch(/^TSR\/1 READY/);
      await broker.send(['W test', '', '', '', 'TSR/1 HB']);
      await broker.send(['W test', '', '', '', `TSR/1 BATCH max=${max}`]);
      expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 BATCH']);
    }
    const batch = (...records: [string, string][]) =>
      packBatches(
        records.map(([ticket, body]) => ({ ticket: Buffer.from(ticket), body: Buffer.from(body), failed: false })),
        Infinity,
      )[0];
    const records = (frames: Buffer[]) => {
      expect(text(frames.slice(0, 2))).toEqual(['W test', 'TSR/1 REPS']);
      return (unpackBatch(frames[2]) as BatchRecord[]).map((r) => [r.ticket.toString(), r.body.toString(), r.failed]);
    };

    it('accepts an offer and answers a batch of requests with one batch, in order, failures marked', async () => {
      const handler: Handler = (request) => {
        if (request.toString() === 'bad') throw new Error('cannot serve "bad"');
        return `${request} W test`;
      };
      const { broker, worker } = await setup({ handler, credit: 8, logger: { info: () => {}, error: () => {} } });
      cleanup = () => (worker.close(), broker.close());
      await offerBatches(broker);
      await broker.send(['W test', 'TSR/1 REQS', batch(['C1', 'one'], ['C2', 'bad'], ['C3', 'three'])]);
      expect(records(await broker.receive())).toEqual([
        ['C1', 'one W test', false],
        ['C2', 'cannot serve "bad"', true],
        ['C3', 'three W test', false],
      ]);
      // Classic requests are still served, and their answers batched too.
      await broker.send(['W test', '', 'C4', '', 'four']);
      expect(records(await broker.receive())).toEqual([['C4', 'four W test', false]]);
      expect(worker.status()).toMatchObject({ served: 3, failed: 1 });
    });

    it('keeps each batch within the size the broker offered, and sends what never fits one in classic frames', async () => {
      const { broker, worker } = await setup({ handler: (r) => r, credit: 8 });
      cleanup = () => (worker.close(), broker.close());
      await offerBatches(broker, 100);
      const body = 'x'.repeat(40); // a record: 6 + 2 + 40 bytes, so two fit in 100
      const big = 'y'.repeat(200);
      await broker.send(['W test', 'TSR/1 REQS', batch(['A1', body], ['A2', body], ['A3', body], ['A4', big])]);
      const got = [text(await broker.receive()), text(await broker.receive()), text(await broker.receive())];
      expect(got).toContainEqual(['W test', '', 'A4', '', big]);
      const batches = got.filter((frames) => frames[1] === 'TSR/1 REPS');
      expect(batches.map((frames) => frames[2].length)).toEqual([96, 48]);
    });

    it('never accepts an offer before the broker has shown it speaks TSR/1, and ignores a malformed batch', async () => {
      const errors: string[] = [];
      const { broker, worker } = await setup({ logger: { info: () => {}, error: (m) => errors.push(m) } });
      cleanup = () => (worker.close(), broker.close());
      await broker.receive();
      await broker.send(['W test', '', '', '', 'TSR/1 BATCH max=1000']);
      await broker.send(['W test', 'TSR/1 REQS', Buffer.from([0, 2, 0x43])]);
      await broker.send(['W test', '', 'C1', '', 'hello']);
      // The answer comes in classic frames: no acceptance, no batch.
      expect(text(await broker.receive())).toEqual(['W test', '', 'C1', '', 'hello W test']);
      expect(errors).toEqual(['ignored message from broker: batch record 1 is truncated']);
      expect(worker.status()).toMatchObject({ malformed: 1, protocolErrors: 0 });
    });

    it('stopped by a handler in the middle of a batch, sends the answers finished by then (that one too), then its goodbye; the rest is left to the broker', async () => {
      const running: { worker?: Worker } = {};
      const { broker, worker } = await setup({
        credit: 4,
        handler: (r) => {
          if (r.toString() === 'two') running.worker?.close();
          return `${r} done`;
        },
      });
      cleanup = () => broker.close();
      running.worker = worker;
      await offerBatches(broker);
      await broker.send(['W test', 'TSR/1 REQS', batch(['C1', 'one'], ['C2', 'two'], ['C3', 'three'])]);
      expect(records(await broker.receive())).toEqual([
        ['C1', 'one done', false],
        ['C2', 'two done', false],
      ]);
      expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 BYE']);
      expect(worker.served).toBe(2);
    });
  });

  describe('metadata, deadlines and traces', () => {
    const meta = (headers: Headers) => encodeMetadata(headers);
    /** Registers the worker with TSR/1 (a heartbeat) and offers metadata; resolves once it accepted. */
    async function offerMetadata(broker: Router): Promise<void> {
      expect(text(await broker.receive())[4]).toMatch(/^TSR\/1 READY/);
      await broker.send(['W test', '', '', '', 'TSR/1 HB']);
      await broker.send(['W test', '', '', '', 'TSR/1 META']);
      expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 META']);
    }
    /** A handler that keeps what it is told and answers `ok`, after `delayMs` for requests named `slow`. */
    function recording(delayMs = 0) {
      const infos: RequestInfo[] = [];
      const handler: Handler = (request, info) => {
        infos.push(info);
        return request.toString() === 'slow' ? sleep(delayMs).then(() => 'ok') : 'ok';
      };
      return { infos, handler };
    }

    it('accepts the offer once per connection, after the broker has shown it speaks TSR/1', async () => {
      const { broker, worker } = await setup();
      cleanup = () => (worker.close(), broker.close());
      await offerMetadata(broker);
      await broker.send(['W test', '', '', '', 'TSR/1 META']); // a second offer on the same connection: no second answer
      await broker.send(['W test', '', 'C1', '', 'hello']);
      expect(text(await broker.receive())).toEqual(['W test', '', 'C1', '', 'hello W test']);
    });

    it('never accepts an offer it never got, nor one before a heartbeat', async () => {
      const { broker, worker } = await setup();
      cleanup = () => (worker.close(), broker.close());
      await broker.receive();
      await broker.send(['W test', '', '', '', 'TSR/1 META']); // before the heartbeat: ignored
      await broker.send(['W test', '', '', '', 'TSR/1 HB']);
      await broker.send(['W test', '', 'C1', '', 'hello']);
      expect(await bodiesWithin(broker, 200)).toEqual(['hello W test']);
    });

    it("hands the handler a request's headers, frozen, its deadline and the time left", async () => {
      const { infos, handler } = recording();
      const { broker, worker } = await setup({ handler });
      cleanup = () => (worker.close(), broker.close());
      await offerMetadata(broker);
      const sent = Date.now();
      await broker.send(['W test', '', 'C1', '', meta({ 'timeout-ms': '5000', 'x-user': 'ann' }), 'hello']);
      expect(text(await broker.receive())).toEqual(['W test', '', 'C1', '', 'ok']);
      const [info] = infos;
      expect(info.headers).toEqual({ 'timeout-ms': '5000', 'x-user': 'ann' });
      expect(Object.isFrozen(info.headers)).toBe(true);
      expect(info.timeoutMs).toBeGreaterThan(4900);
      expect(info.timeoutMs).toBeLessThanOrEqual(5000);
      expect(info.deadline).toBeGreaterThanOrEqual(sent + 4900);
      expect(info.deadline).toBeLessThanOrEqual(Date.now() + 5000);
      expect(info.signal.aborted).toBe(false); // read after the request ended: no timer armed
      expect(worker.status()).toMatchObject({ served: 1, expired: 0, malformed: 0 });
    });

    it('takes requests with metadata in a batch too', async () => {
      const { infos, handler } = recording();
      const { broker, worker } = await setup({ handler, credit: 4 });
      cleanup = () => (worker.close(), broker.close());
      await offerMetadata(broker);
      await broker.send(['W test', '', '', '', 'TSR/1 BATCH max=100000']);
      expect(text(await broker.receive())[4]).toBe('TSR/1 BATCH');
      const records: BatchRecord[] = [
        { ticket: Buffer.from('C1'), body: Buffer.from('a'), failed: false, metadata: meta({ 'timeout-ms': '3000', k: 'v' }) },
        { ticket: Buffer.from('C2'), body: Buffer.from('b'), failed: false },
      ];
      await broker.send(['W test', 'TSR/1 REQS', packBatches(records, Infinity)[0]]);
      const [, kind, frame] = await broker.receive();
      expect(kind.toString()).toBe('TSR/1 REPS');
      expect((unpackBatch(frame) as BatchRecord[]).map((r) => r.ticket.toString())).toEqual(['C1', 'C2']);
      expect(infos.map((i) => [i.headers, i.timeoutMs !== undefined])).toEqual([
        [{ 'timeout-ms': '3000', k: 'v' }, true],
        [{}, false],
      ]);
    });

    it('serves a request whose metadata breaks the rules as one without, and counts it', async () => {
      const errors: string[] = [];
      const { infos, handler } = recording();
      const { broker, worker } = await setup({ handler, logger: { info: () => {}, error: (m) => errors.push(m) } });
      cleanup = () => (worker.close(), broker.close());
      await offerMetadata(broker);
      await broker.send(['W test', '', 'C1', '', 'Bad Name: x\r\n', 'one']);
      await broker.send(['W test', '', 'C2', '', meta({ 'timeout-ms': 'soon' }), 'two']);
      expect(text(await broker.receive())[2]).toBe('C1');
      expect(text(await broker.receive())[2]).toBe('C2');
      expect(infos.map((i) => [i.headers, i.deadline])).toEqual([
        [{}, undefined],
        [{ 'timeout-ms': 'soon' }, undefined],
      ]);
      expect(worker.status()).toMatchObject({ served: 2, malformed: 2 });
      expect(errors).toEqual([
        expect.stringMatching(/^ignored the metadata of a request from the broker: header name "Bad Name"/),
        'ignored the metadata of a request from the broker: timeout-ms "soon" is no timeout',
      ]);
    });

    it('aborts the signal at the deadline with a TimeoutError', async () => {
      const handler: Handler = (_request, { signal }) =>
        new Promise((resolve) => signal.addEventListener('abort', () => resolve(`${(signal.reason as Error).name} ${Date.now()}`)));
      const { broker, worker } = await setup({ handler });
      cleanup = () => (worker.close(), broker.close());
      await offerMetadata(broker);
      const sent = Date.now();
      await broker.send(['W test', '', 'C1', '', meta({ 'timeout-ms': '120' }), 'wait']);
      const [name, at] = text(await broker.receive())[4].split(' ');
      expect(name).toBe('TimeoutError');
      expect(Number(at) - sent).toBeGreaterThanOrEqual(110);
      expect(Number(at) - sent).toBeLessThan(1000);
    });

    it('never starts a handler with its signal aborted by the deadline: one that passes as it starts fires from a timer', async () => {
      const seen: string[] = [];
      const handler: Handler = (request, info) => {
        const deadline = info.deadline as number;
        if (request.toString() === 'late read') {
          // First read after an await past the deadline: already aborted.
          return sleep(deadline - Date.now() + 20).then(() => `late ${info.signal.aborted}`);
        }
        while (Date.now() <= deadline + 5); // the deadline passes during the synchronous start
        const { signal } = info;
        seen.push(`at start ${signal.aborted}`);
        return new Promise((resolve) => signal.addEventListener('abort', () => resolve((signal.reason as Error).name)));
      };
      const { broker, worker } = await setup({ handler });
      cleanup = () => (worker.close(), broker.close());
      await offerMetadata(broker);
      await broker.send(['W test', '', 'C1', '', meta({ 'timeout-ms': '60' }), 'spin']);
      expect(text(await broker.receive())[4]).toBe('TimeoutError');
      expect(seen).toEqual(['at start false']);
      await broker.send(['W test', '', 'C2', '', meta({ 'timeout-ms': '60' }), 'late read']);
      expect(text(await broker.receive())[4]).toBe('late true');
      expect(worker.status()).toMatchObject({ served: 2, expired: 0 });
    });

    it('aborts the signal of the request in the handler when the worker closes, with an AbortError', async () => {
      const signals: AbortSignal[] = [];
      const { broker, worker } = await setup({
        drainMs: 100, // the handler never settles: close waits this long for it
        handler: (_r, info) => (signals.push(info.signal), new Promise<string>(() => {})),
      });
      cleanup = () => broker.close();
      await broker.receive();
      await broker.send(['W test', '', 'C1', '', 'forever']); // no metadata: the signal fires only at close
      for (const until = Date.now() + 2000; signals.length === 0 && Date.now() < until; ) await sleep(5);
      expect(signals[0].aborted).toBe(false);
      await worker.close();
      expect(signals[0].aborted).toBe(true);
      expect(signals[0].reason).toMatchObject({ name: 'AbortError', message: 'the worker is closing' });
    });

    it('aborts the signal of the request in the handler when its connection is lost', async () => {
      const signals: AbortSignal[] = [];
      const { broker, worker } = await setup({
        heartbeat: 50,
        handler: (_r, info) => (signals.push(info.signal), new Promise<string>(() => {})),
      });
      cleanup = () => (worker.close(), broker.close());
      await broker.receive();
      await broker.send(['W test', '', '', '', 'TSR/1 HB']);
      await broker.send(['W test', '', 'C1', '', 'held']);
      // Silence: the worker reconnects after about 150 ms.
      for (const until = Date.now() + 3000; worker.reconnects === 0 && Date.now() < until; ) await sleep(10);
      expect(signals[0].reason).toMatchObject({ name: 'AbortError', message: 'the connection to the broker was lost' });
    });

    it('skips a request whose deadline passed while it waited behind a slow one: a failure answer, its handler not called', async () => {
      const { infos, handler } = recording(200);
      const { broker, worker } = await setup({ handler, credit: 3 });
      cleanup = () => (worker.close(), broker.close());
      await offerMetadata(broker);
      await broker.send(['W test', '', 'C1', '', 'slow']);
      await broker.send(['W test', '', 'C2', '', meta({ 'timeout-ms': '50' }), 'late']);
      await broker.send(['W test', '', 'C3', '', meta({ 'timeout-ms': '5000' }), 'fine']);
      expect(text(await broker.receive())).toEqual(['W test', '', 'C1', '', 'ok']);
      expect(text(await broker.receive())).toEqual(['W test', '', 'C2', '', 'TSR/1 ERR', 'deadline passed before the handler started']);
      expect(text(await broker.receive())).toEqual(['W test', '', 'C3', '', 'ok']);
      expect(infos).toHaveLength(2);
      expect(worker.status()).toMatchObject({ served: 2, failed: 0, expired: 1, held: 0 });
      expect(worker.expired).toBe(1);
    });

    describe('with an SDK', () => {
      const exporter = new InMemorySpanExporter();
      /** A synchronous context manager (a stack), enough for handlers that answer at once. */
      const stack: Context[] = [];
      const manager: ContextManager = {
        active: () => stack[stack.length - 1] ?? ROOT_CONTEXT,
        with: (ctx, fn, thisArg, ...args) => {
          stack.push(ctx);
          try {
            return fn.call(thisArg, ...args);
          } finally {
            stack.pop();
          }
        },
        bind: (_ctx, target) => target,
        enable() {
          return this;
        },
        disable() {
          return this;
        },
      };
      beforeEach(() => {
        exporter.reset();
        trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
        context.setGlobalContextManager(manager);
      });
      afterEach(() => (trace.disable(), context.disable()));

      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const parentId = 'b7ad6b7169203331';
      const traceparent = `00-${traceId}-${parentId}-01`;

      it("makes a process span, the broker's span its parent, and the handler's spans its children", async () => {
        const active: unknown[] = [];
        const handler: Handler = (request, info) => {
          active.push(trace.getActiveSpan()?.spanContext().spanId);
          trace.getTracer('handler').startSpan('inner', {}, info.context).end();
          if (request.toString() === 'bad') throw new Error('no good');
          return 'ok';
        };
        const { broker, worker } = await setup({ handler, service: 'svc' });
        cleanup = () => (worker.close(), broker.close());
        await offerMetadata(broker);
        await broker.send(['W test', '', 'C1', '', meta({ 'timeout-ms': '5000', traceparent }), 'hello']);
        await broker.receive();
        await broker.send(['W test', '', 'C2', '', meta({ traceparent }), 'bad']);
        await broker.receive();
        const spans = exporter.getFinishedSpans();
        const processes = spans.filter((s) => s.name === 'process svc');
        expect(processes).toHaveLength(2);
        const [served, failed] = processes;
        expect(served.kind).toBe(SpanKind.CONSUMER);
        expect(served.spanContext().traceId).toBe(traceId);
        expect(served.parentSpanContext).toMatchObject({ traceId, spanId: parentId, isRemote: true });
        expect(served.attributes).toEqual({
          'messaging.system': 'tsr',
          'messaging.operation.type': 'process',
          'messaging.destination.name': 'svc',
          'messaging.client.id': 'W test',
          'messaging.message.body.size': 5,
          'tsr.timeout_ms': expect.any(Number),
          'tsr.outcome': 'reply',
        });
        expect(served.attributes['tsr.timeout_ms']).toBeGreaterThan(4900);
        expect(served.status.code).toBe(SpanStatusCode.UNSET);
        expect(failed.attributes['tsr.outcome']).toBe('failure');
        expect(failed.attributes['tsr.timeout_ms']).toBeUndefined();
        expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no good' });
        const inner = spans.filter((s) => s.name === 'inner');
        expect(inner.map((s) => s.parentSpanContext?.spanId)).toEqual(processes.map((s) => s.spanContext().spanId));
        // The handler ran inside the process span's context.
        expect(active).toEqual(processes.map((s) => s.spanContext().spanId));
      });

      it('ends the span of a request skipped for its deadline as expired', async () => {
        const { handler } = recording(150);
        const { broker, worker } = await setup({ handler, credit: 2 });
        cleanup = () => (worker.close(), broker.close());
        await offerMetadata(broker);
        await broker.send(['W test', '', 'C1', '', 'slow']);
        await broker.send(['W test', '', 'C2', '', meta({ 'timeout-ms': '20', traceparent }), 'late']);
        await broker.receive();
        await broker.receive();
        const spans = exporter.getFinishedSpans();
        expect(spans.map((s) => s.attributes['tsr.outcome'])).toEqual(['reply', 'expired']);
        expect(spans[0].parentSpanContext).toBeUndefined(); // no traceparent: a root span
        expect(spans[1].parentSpanContext?.spanId).toBe(parentId);
        expect(spans[1].status).toEqual({ code: SpanStatusCode.ERROR, message: 'deadline passed before the handler started' });
      });
    });
  });
});
