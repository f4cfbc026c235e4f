import { Router } from 'zeromq';
import { type Tracer, bindAnyLoopbackPort, createTracer } from '@tsr/tsr';
import { Worker } from './worker';

const text = (frames: Buffer[]) => frames.map((f) => f.toString());

/** A real ROUTER playing the broker, and one worker connected to it. */
async function setup(delayMs: number, heartbeatMs = 10_000, liveness = 3, trace: Tracer = createTracer('worker', 'silent')) {
  // handover, as our broker: a reconnecting worker keeps its id and takes over from its old connection.
  const broker = new Router({ linger: 0, handover: true });
  const port = await bindAnyLoopbackPort(broker);
  const fatal: Error[] = [];
  const worker = new Worker({ brokerHost: '127.0.0.1', brokerPort: port, delayMs, identity: 'W test', heartbeatMs, liveness, credit: 1 }, trace, (e) => fatal.push(e));
  worker.start();
  return { broker, worker, fatal };
}

describe('Worker', () => {
  let cleanup: () => void = () => undefined;
  afterEach(() => cleanup());

  it('announces itself with the seed ready frames carrying TSR/1 READY, then replies "<request> <id>" after its delay', async () => {
    const { broker, worker } = await setup(150);
    cleanup = () => (worker.close(), broker.close());
    expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 READY']);
    const sent = Date.now();
    await broker.send(['W test', '', 'C1', '', 'hello']);
    expect(text(await broker.receive())).toEqual(['W test', '', 'C1', '', 'hello W test']);
    expect(Date.now() - sent).toBeGreaterThanOrEqual(140);
  });

  it('serves one request at a time, in order', async () => {
    const { broker, worker } = await setup(100);
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

  it('with no service time, answers every queued request of a burst, in order', async () => {
    const { broker, worker } = await setup(0);
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    const requests = Array.from({ length: 50 }, (_, i) => `r${i}`);
    for (const r of requests) await broker.send(['W test', '', `C${r}`, '', r]);
    const answers: string[][] = [];
    while (answers.length < requests.length) answers.push(text(await broker.receive()));
    expect(answers).toEqual(requests.map((r) => ['W test', '', `C${r}`, '', `${r} W test`]));
    expect(worker.served).toBe(50);
  });

  it('sends no heartbeat to a broker that sends none (a seed broker), and never reconnects', async () => {
    const { broker, worker } = await setup(0, 20, 2);
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    const next = broker.receive().then(text);
    const silence = (ms: number) => new Promise((r) => setTimeout(() => r('nothing'), ms));
    expect(await Promise.race([next, silence(400)])).toBe('nothing');
    expect(worker.reconnects).toBe(0);
    worker.close(); // and no goodbye either
    expect(await Promise.race([next, silence(300)])).toBe('nothing');
    cleanup = () => broker.close();
  });

  it('heartbeats back once the broker does, and reconnects with a new ready when the broker falls silent', async () => {
    const { broker, worker } = await setup(0, 50, 3);
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    expect(text(await broker.receive())).toEqual(['W test', '', '', '', 'TSR/1 HB']);
    // Silence from now on: within a few liveness windows the worker starts over.
    let frames: string[];
    do frames = text(await broker.receive());
    while (frames[4] === 'TSR/1 HB');
    expect(frames).toEqual(['W test', '', '', '', 'TSR/1 READY']);
    expect(worker.reconnects).toBe(1);
  });

  it('abandons the request it held when it reconnects: the broker re-dispatches it, so no second answer', async () => {
    const { broker, worker } = await setup(400, 50, 3);
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    await broker.send(['W test', '', 'C1', '', 'held']);
    // Silence: the worker reconnects (about 150 ms) before its 400 ms of work is done.
    const seen: string[] = [];
    const until = Date.now() + 1000;
    while (Date.now() < until) {
      const next = await Promise.race([broker.receive().then(text), new Promise<undefined>((r) => setTimeout(() => r(undefined), until - Date.now()))]);
      if (next) seen.push(next[4]);
      else break;
    }
    expect(seen).toContain('TSR/1 READY');
    expect(seen.filter((b) => b.startsWith('held'))).toEqual([]);
    expect(worker.reconnects).toBeGreaterThanOrEqual(1);
  });

  it('says goodbye when it stops, only to a broker that speaks heartbeats', async () => {
    const { broker, worker } = await setup(0, 50, 3);
    cleanup = () => broker.close();
    await broker.receive();
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    await broker.receive(); // its heartbeat back
    worker.close();
    let frames: string[];
    do frames = text(await broker.receive());
    while (frames[4] === 'TSR/1 HB');
    expect(frames).toEqual(['W test', '', '', '', 'TSR/1 BYE']);
  });

  it('reports a failure of its receive loop as fatal instead of going deaf', async () => {
    // A tracer that throws while a request is handled stands for any bug in a handler.
    const throwing: Tracer = { ...createTracer('worker', 'silent'), tracing: true, traza: () => { throw new Error('handler bug'); } };
    const { broker, worker, fatal } = await setup(0, 10_000, 3, throwing);
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', 'C1', '', 'boom']);
    for (const deadline = Date.now() + 5000; fatal.length === 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 10));
    expect(fatal.map((e) => e.message)).toEqual(['broker receive loop failed: handler bug']);
    expect(worker.health.liveness()).toEqual({ ok: false, why: 'broker receive loop failed: handler bug' });
  });

  it('is live from the start, and ready only while a broker that heartbeats is heard within the liveness window', async () => {
    const { broker, worker } = await setup(0, 50, 3);
    cleanup = () => (worker.close(), broker.close());
    expect(worker.health.liveness().ok).toBe(true);
    await broker.receive(); // its ready
    expect(worker.registration()).toMatchObject({ ok: false, why: expect.stringContaining('not registered') });
    await broker.send(['W test', '', '', '', 'TSR/1 HB']);
    for (const deadline = Date.now() + 2000; !worker.registration().ok && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
    expect(worker.registration().ok).toBe(true);
    // The broker now says nothing: past 3 × 50 ms the worker is no longer ready.
    for (const deadline = Date.now() + 2000; worker.registration().ok && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 5));
    expect(worker.registration().ok).toBe(false);
  });

  it('measures each request\'s service time', async () => {
    const { broker, worker } = await setup(60);
    cleanup = () => (worker.close(), broker.close());
    await broker.receive();
    await broker.send(['W test', '', 'C1', '', 'one']);
    await broker.receive();
    expect(worker.serviceTime.count).toBe(1);
    expect(worker.serviceTime.sum).toBeGreaterThanOrEqual(0.055);
    expect(worker.serviceTime.sum).toBeLessThan(1);
  });
});
