import { type AddressInfo, type Socket, createServer } from 'node:net';
import { type Context, type ContextManager, ROOT_CONTEXT, SpanKind, SpanStatusCode, context, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { Router } from 'zeromq';
import { type BatchRecord, packBatches, parseMetadata, unpackBatch } from '@tsr/protocol';
import { bindAnyLoopbackPort } from '@tsr/runtime';
import { freePort } from '@tsr/zmtp/testing';
import { Client } from './client';
import { BrokerError, HandlerError, NoAnswerError, NoServiceError, PlainBrokerError, RefusedError, RequestError } from './errors';

interface Seen {
  id: string;
  frames: string[];
  /** The request's metadata frame, parsed, where it came with one (taken out of `frames`). */
  metadata?: Record<string, string>;
}
type Answer = (string | Buffer)[] | undefined;

/**
 * A real ROUTER playing the broker: it records every message and answers with what `answer`
 * returns (frames after the client id). An envelope request's metadata frame is taken out of the
 * frames (both those recorded and those given to `answer`), parsed into `metadata`. The client's question whether it takes batches is
 * answered with `offer` (the largest batch frame) when given; otherwise it is left unanswered, as by
 * a broker that knows no batches (`questions` counts them, by client connection). It binds a port of its own on 127.0.0.1, or `at`.
 */
async function fakeBroker(
  answer: (seen: Seen, n: number, frames: Buffer[]) => Answer,
  offer?: number,
  at?: { host: string; port: number },
) {
  const router = new Router({ linger: 0 });
  const port = at ? (await router.bind(`tcp://${at.host}:${at.port}`), at.port) : await bindAnyLoopbackPort(router);
  const seen: Seen[] = [];
  const questions: string[] = [];
  void (async () => {
    for await (const [client, ...frames] of router) {
      if (frames[2]?.toString() === 'tsr.batch') {
        questions.push(client.toString());
        if (offer) await router.send([client, '', 'TSR/1 REP', frames[3], `TSR/1 BATCH max=${offer}`]);
        continue;
      }
      const s: Seen = { id: client.toString(), frames: [] };
      if (frames.length === 6 && frames[1].toString() === 'TSR/1 REQ') {
        const metadata = parseMetadata(frames.splice(4, 1)[0]);
        if (typeof metadata === 'string') throw new Error(metadata);
        s.metadata = metadata;
      }
      s.frames = frames.map((f) => f.toString('latin1')); // latin1: lossless for the binary id
      seen.push(s);
      const reply = answer(s, seen.length, frames);
      if (reply) await router.send([client, ...reply]);
    }
  })().catch(() => undefined);
  return { port, router, seen, questions };
}

/** Answers an envelope request `[ '', 'TSR/1 REQ', service, id, body ]` with `TSR/1 REP` and `reply(body)`. */
/** Waits for `condition`, up to 5 s. */
async function until(condition: () => boolean): Promise<void> {
  for (const deadline = Date.now() + 5000; !condition(); ) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const replyWith =
  (reply: (body: string) => string) =>
  (_s: Seen, _n: number, [, , , id, body]: Buffer[]): Answer => ['', 'TSR/1 REP', id, reply(body.toString())];

/** Within a describe: `start` makes a fake broker and a client of it; both, and whatever else goes in `open`, are closed after each test. */
function harness() {
  const open: { close(): void }[] = [];
  afterEach(() => open.splice(0).forEach((c) => c.close()));
  const start = async (answer: Parameters<typeof fakeBroker>[0], options: Partial<ConstructorParameters<typeof Client>[0]> = {}) => {
    const broker = await fakeBroker(answer);
    const client = new Client({ broker: `127.0.0.1:${broker.port}`, identity: 'C me', timeout: 2000, ...options });
    open.push(client, broker.router);
    return { broker, client };
  };
  return { open, start };
}

describe('Client (TSR/1 envelope)', () => {
  const { open, start } = harness();

  it('sends the service and an id of its own in the envelope, and resolves with the reply to that id', async () => {
    const { broker, client } = await start(replyWith((b) => b.toUpperCase()));
    expect((await client.request('upper', 'hello')).toString()).toBe('HELLO');
    const [{ id, frames }] = broker.seen;
    expect(id).toBe('C me');
    expect(frames.slice(0, 3)).toEqual(['', 'TSR/1 REQ', 'upper']);
    expect(Buffer.from(frames[3], 'latin1')).toHaveLength(12);
    expect(frames[4]).toBe('hello');
  });

  it('matches answers by id, not by text or order: concurrent requests answered in reverse each get their own', async () => {
    const held: Buffer[][] = [];
    const { broker, client } = await start((_s, n, frames) => {
      held.push(frames);
      if (n < 3) return undefined;
      void Promise.all(
        held.reverse().map(([, , , id, body]) => broker.router.send([Buffer.from('C me'), '', 'TSR/1 REP', id, `answer to ${body}`])),
      );
      return undefined;
    });
    const answers = await Promise.all(['a', 'b', 'c'].map((b) => client.request('default', b)));
    expect(answers.map(String)).toEqual(['answer to a', 'answer to b', 'answer to c']);
  });

  it('drops an answer whose id no request waits for (a duplicate, or late), whatever it says', async () => {
    const { broker, client } = await start((_s, n, [, , , id, body]) => {
      if (n === 1) return ['', 'TSR/1 REP', id, `${body} W a`];
      // The first request answered twice, then the second: the duplicate begins like no answer to the second but has the first's id.
      void broker.router.send([Buffer.from('C me'), '', 'TSR/1 REP', Buffer.from(broker.seen[0].frames[3], 'latin1'), 'second W dup']);
      return ['', 'TSR/1 REP', id, `${body} W b`];
    });
    expect((await client.request('default', 'first')).toString()).toBe('first W a');
    expect((await client.request('default', 'second')).toString()).toBe('second W b');
    expect(client.stray).toBe(1);
  });

  it('sends again on a fresh connection with a fresh routing id after a timeout, keeping the request id', async () => {
    const { broker, client } = await start((s, n, frames) => (n < 3 ? undefined : replyWith((b) => `${b} ok`)(s, n, frames)), {
      timeout: 150,
      retries: 5,
    });
    expect((await client.request('default', 'job')).toString()).toBe('job ok');
    expect(client.retried).toBe(2);
    expect(broker.seen.map((s) => s.id)).toEqual(['C me', 'C me#1', 'C me#2']);
    expect(new Set(broker.seen.map((s) => s.frames[3])).size).toBe(1);
  });

  it('sends 32 requests of 1 MiB made at once, all in one go: none is held back for the retry', async () => {
    const { broker, client } = await start(replyWith((b) => String(b.length)));
    await client.request('size', 'first'); // connected
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 32 }, (_, i) => client.request('size', Buffer.alloc(1024 * 1024 - 64, 0x61 + (i % 26)))),
    );
    expect(answers.map((a) => a.toString())).toEqual(Array(32).fill(String(1024 * 1024 - 64)));
    expect(broker.seen).toHaveLength(33); // each reached the broker once
    expect(Date.now() - started).toBeLessThan(2000); // within the first attempt's timeout
  });

  it('moves the other requests in flight to the new connection when one of them times out', async () => {
    // The first attempt of "slow" is never answered; "fast" is answered only on the second connection.
    const { broker, client } = await start((s, _n, frames) => (s.id === 'C me' ? undefined : replyWith((b) => `${b} ok`)(s, _n, frames)), {
      retries: 1,
    });
    const slow = client.request('default', 'slow', { timeout: 100 });
    const fast = client.request('default', 'fast', { timeout: 5000 });
    expect([(await slow).toString(), (await fast).toString()]).toEqual(['slow ok', 'fast ok']);
    expect(broker.seen.map((s) => `${s.id} ${s.frames[4]}`).sort()).toEqual(['C me fast', 'C me slow', 'C me#1 fast', 'C me#1 slow']);
  });

  it('gives up after its retries with a NoAnswerError saying where and how long', async () => {
    const { broker, client } = await start(() => undefined, { timeout: 50, retries: 2 });
    const failure = client.request('default', 'lost');
    await expect(failure).rejects.toThrow(new NoAnswerError(`no answer from tcp://127.0.0.1:${broker.port} after 3 attempt(s) of 50 ms`));
    expect(broker.seen).toHaveLength(3);
  });

  it.each([
    ['no-service upper', NoServiceError, 'no worker serves "upper"', 'upper'],
    ['handler division by zero', HandlerError, 'the service failed: division by zero', 'division by zero'],
    ['overloaded', RefusedError, 'broker overloaded: its queue of pending requests is full', ''],
    ['too-large 1024', RefusedError, 'request too large: the broker accepts at most 1024 bytes', '1024'],
    ['bad-request invalid service name', RefusedError, 'request refused by the broker: invalid service name', 'invalid service name'],
    ['something-new 7', BrokerError, 'broker error: something-new 7', '7'],
  ])('turns the error answer "%s" into a typed error at once, without retrying', async (text, type, message, detail) => {
    const { broker, client } = await start((_s, _n, [, , , id]) => ['', 'TSR/1 ERR', id, text], { retries: 3 });
    const failure = client.request('upper', 'x');
    await expect(failure).rejects.toBeInstanceOf(type);
    await expect(failure).rejects.toThrow(message);
    await expect(failure).rejects.toMatchObject({ reason: text.split(' ')[0], detail });
    expect(broker.seen).toHaveLength(1);
  });

  it('gives up saying the connection was refused when nothing listens where the broker should be', async () => {
    const port = await freePort(); // nothing listens there
    const client = new Client({ broker: `127.0.0.1:${port}`, identity: 'C me', timeout: 300, retries: 1 });
    open.push(client);
    await expect(client.request('default', 'hello')).rejects.toThrow(
      `no answer from tcp://127.0.0.1:${port} after 2 attempt(s) of 300 ms: connection refused (nothing listens on that port) (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
  });

  it('says how its connections go in events(): refused with the reason at once, connected, disconnected; the loop ends at close', async () => {
    const port = await freePort(); // nothing listens there yet
    const address = `tcp://127.0.0.1:${port}`;
    const client = new Client({ broker: `127.0.0.1:${port}`, identity: 'C me', timeout: 5000, retries: 0 });
    open.push(client);
    const events = client.events();
    const started = performance.now();
    const answered = client.request('upper', 'hello');
    expect((await events.next()).value).toEqual({
      type: 'refused',
      address,
      reason: expect.stringMatching(/^connection refused \(nothing listens/),
    });
    expect(performance.now() - started).toBeLessThan(1000);
    // said once: the socket dials again every 100 ms, the reason stays the same
    const broker = await fakeBroker(
      replyWith((b) => b.toUpperCase()),
      undefined,
      { host: '127.0.0.1', port },
    );
    open.push(broker.router);
    expect((await events.next()).value).toEqual({ type: 'connected', address });
    expect((await answered).toString()).toBe('HELLO');
    broker.router.close();
    expect((await events.next()).value).toEqual({ type: 'disconnected', address });
    await client.close();
    const rest: unknown[] = [];
    for await (const e of events) rest.push(e);
    expect(rest.every((e) => (e as { type: string }).type === 'refused')).toBe(true); // the broker gone: its port refuses again
  });

  it('counts each connection dropped because the broker broke ZMTP, and gives up with a NoAnswerError', async () => {
    // A "broker" that answers every connection with a ZMTP 2.0 greeting: each is dropped from its eleventh byte.
    const connections: Socket[] = [];
    const fake = createServer(
      (c) => (connections.push(c), c.on('error', () => {}).write(Buffer.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 0x01, 0x05]))),
    );
    await new Promise<void>((r) => fake.listen(0, '127.0.0.1', r));
    const client = new Client({ broker: `127.0.0.1:${(fake.address() as AddressInfo).port}`, identity: 'C me', timeout: 200, retries: 1 });
    open.push(client);
    try {
      await expect(client.request('default', 'hello')).rejects.toBeInstanceOf(NoAnswerError);
      expect(client.protocolErrors).toBeGreaterThanOrEqual(2);
    } finally {
      fake.close();
      connections.forEach((c) => c.destroy());
    }
  });

  it('fails with a PlainBrokerError saying to use plain mode when the broker answers outside the envelope (a seed broker)', async () => {
    const { client } = await start(() => ['', 'TSR/1 REQ W x']);
    const failure = client.request('default', 'x');
    await expect(failure).rejects.toBeInstanceOf(PlainBrokerError);
    await expect(failure).rejects.toThrow(/answered outside the TSR\/1 envelope: a seed broker\? use plain mode \(client --plain\)/);
  });

  it('asks tsr.services for discovery and parses its JSON', async () => {
    const info = [{ name: 'default', workers: 2, ready: 1, busy: 1, waiting: 0 }];
    const { broker, client } = await start(replyWith(() => JSON.stringify(info)));
    expect(await client.services()).toEqual(info);
    await client.services('upper');
    expect(broker.seen.map((s) => [s.frames[2], s.frames[4]])).toEqual([
      ['tsr.services', ''],
      ['tsr.services', 'upper'],
    ]);
  });

  it('ends the requests in flight when closed, and refuses new ones', async () => {
    const { client } = await start(() => undefined);
    const failure = client.request('default', 'x');
    client.close();
    await expect(failure).rejects.toThrow(new RequestError('client closed'));
    await expect(client.request('default', 'y')).rejects.toThrow('client closed');
  });

  it('abandons a request when its signal aborts: rejected with the reason at once, its late answer dropped as stray', async () => {
    let answerLate: (() => void) | undefined;
    const { broker, client } = await start((_s, _n, [, , , id, body]) => {
      answerLate = () => void broker.router.send([Buffer.from('C me'), '', 'TSR/1 REP', id, `${body} late`]);
      return undefined;
    });
    const controller = new AbortController();
    const abandoned = client.request('default', 'x', { signal: controller.signal });
    await until(() => answerLate !== undefined);
    controller.abort();
    await expect(abandoned).rejects.toMatchObject({ name: 'AbortError' });
    answerLate?.();
    await until(() => client.stray === 1);
    await expect(client.request('default', 'y', { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('says when it is connected; close resolves once the connection is closed', async () => {
    const broker = await fakeBroker(replyWith((body) => body));
    const events: boolean[] = [];
    const client = new Client({ broker: `127.0.0.1:${broker.port}`, identity: 'C me', onConnection: (up) => events.push(up) });
    open.push(broker.router);
    expect(client.connected).toBe(false);
    await client.request('default', 'x');
    expect(client.connected).toBe(true);
    await expect(client.close()).resolves.toBeUndefined();
    expect(client.connected).toBe(false);
    expect(events).toEqual([true, false]);
  });

  it('refuses an invalid service name and bad retry options', async () => {
    const { client } = await start(() => undefined);
    await expect(client.request('a b', 'x')).rejects.toThrow(TypeError);
    expect(() => new Client({ broker: 'h:1', timeout: -1 })).toThrow(/timeout must be an integer/);
    expect(() => new Client({ broker: 'nowhere' })).toThrow(/broker address/);
  });
});

describe('Client (plain mode, for seed brokers)', () => {
  const open: { close(): void }[] = [];
  afterEach(() => open.splice(0).forEach((c) => c.close()));
  const start = async (answer: Parameters<typeof fakeBroker>[0], timeout = 2000) => {
    const broker = await fakeBroker(answer);
    const client = new Client({ broker: { host: '127.0.0.1', port: broker.port }, identity: 'C me', plain: true, timeout, retries: 2 });
    open.push(client, broker.router);
    return { broker, client };
  };

  it("sends the seed's frames and takes an answer that echoes the request", async () => {
    const { broker, client } = await start((_s, _n, [, body]) => ['', `${body} W a`]);
    expect((await client.request('default', 'C x')).toString()).toBe('C x W a');
    expect(broker.seen).toEqual([{ id: 'C me', frames: ['', 'C x'] }]);
  });

  it('sends one request at a time, and refuses a stray answer to an earlier one', async () => {
    const { broker, client } = await start((_s, n, [, body]) => {
      if (n === 2) void broker.router.send([Buffer.from('C me'), '', 'first W dup']);
      return ['', `${body} W a`];
    });
    const [first, second] = await Promise.all([client.request('default', 'first'), client.request('default', 'second')]);
    expect([first.toString(), second.toString()]).toEqual(['first W a', 'second W a']);
    expect(client.stray).toBe(1);
    expect(broker.seen.map((s) => s.frames[1])).toEqual(['first', 'second']);
  });

  it('ends the request that waits its turn too, on abort and on close', async () => {
    const { client } = await start(() => undefined);
    const first = client.request('default', 'first');
    const controller = new AbortController();
    const second = client.request('default', 'second', { signal: controller.signal });
    const third = client.request('default', 'third');
    controller.abort();
    await expect(second).rejects.toMatchObject({ name: 'AbortError' });
    void client.close();
    await expect(first).rejects.toThrow('client closed');
    await expect(third).rejects.toThrow('client closed');
  });

  it('turns a TSR/1 ERR body into a typed error', async () => {
    const { client } = await start(() => ['', 'TSR/1 ERR expired 500']);
    await expect(client.request('default', 'x')).rejects.toThrow(new RefusedError('expired', '500'));
  });

  it('sends no metadata: no deadline, no trace, and refuses headers', async () => {
    const { broker, client } = await start((_s, _n, [, body]) => ['', `${body} W a`]);
    await expect(client.request('default', 'x', { headers: { 'x-user': 'ann' } })).rejects.toThrow(
      new TypeError('plain mode sends no headers: a seed broker would take them for the request'),
    );
    expect((await client.request('default', 'C x')).toString()).toBe('C x W a');
    expect(broker.seen).toEqual([{ id: 'C me', frames: ['', 'C x'] }]);
  });

  it('cannot call a named service or discovery', async () => {
    const { client } = await start(() => undefined);
    await expect(client.request('upper', 'x')).rejects.toThrow(
      /plain mode reaches a seed broker's one pool of workers: it cannot call "upper"/,
    );
    await expect(client.services()).rejects.toThrow(/not in plain mode/);
  });
});

describe('Client (batches)', () => {
  const open: { close(): void }[] = [];
  afterEach(() => open.splice(0).forEach((c) => c.close()));

  /** Answers a batch with one batch: each body upper-cased, `bad` as a handler's failure; an envelope as usual. */
  const answerBatches = (_s: Seen, _n: number, frames: Buffer[]): Answer => {
    if (frames[1].toString() !== 'TSR/1 REQS') return replyWith((b) => b.toUpperCase())(_s, _n, frames);
    const records = (unpackBatch(frames[3]) as BatchRecord[]).map(({ ticket, body }) =>
      body.toString() === 'bad'
        ? { ticket, body: Buffer.from('handler boom'), failed: true }
        : { ticket, body: Buffer.from(body.toString().toUpperCase()), failed: false },
    );
    return ['', 'TSR/1 REPS', packBatches(records, Infinity)[0]];
  };
  const start = async (offer?: number) => {
    const broker = await fakeBroker(answerBatches, offer);
    const client = new Client({ broker: `127.0.0.1:${broker.port}`, identity: 'C me', timeout: 2000 });
    open.push(client, broker.router);
    return { broker, client };
  };

  it('once the broker offers them, sends the requests of one turn as one batch per service, and settles each from a batch of answers', async () => {
    const { broker, client } = await start(1 << 20);
    expect((await client.request('upper', 'first')).toString()).toBe('FIRST'); // the question is answered by now
    const upper = ['a', 'bad', 'c'].map((b) => client.request('upper', b));
    const lower = ['d', 'e'].map((b) => client.request('lower', b));
    // taken at once: the two services' batches of answers may arrive in two reads, and a failure left
    // unobserved until the other answers came would be an unhandled rejection in between
    const failure = upper[1].then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((await Promise.all([upper[0], upper[2], ...lower])).map(String)).toEqual(['A', 'C', 'D', 'E']);
    const error = await failure;
    expect(error).toBeInstanceOf(HandlerError);
    expect((error as HandlerError).message).toContain('boom');
    expect(broker.seen.map((s) => s.frames.slice(0, 3))).toEqual([
      ['', 'TSR/1 REQ', 'upper'],
      ['', 'TSR/1 REQS', 'upper'],
      ['', 'TSR/1 REQS', 'lower'],
    ]);
  });

  it("sends each batched request's metadata in its record (kind 2): its own deadline and headers", async () => {
    const { broker, client } = await start(1 << 20);
    await client.request('upper', 'first');
    const answers = await Promise.all(['a', 'b'].map((b) => client.request('upper', b, { headers: { 'x-body': b }, retries: 0 })));
    expect(answers.map(String)).toEqual(['A', 'B']);
    const [batch] = broker.seen.filter((s) => s.frames[1] === 'TSR/1 REQS');
    const records = unpackBatch(Buffer.from(batch.frames[3], 'latin1')) as BatchRecord[];
    expect(records.map((r) => r.body.toString())).toEqual(['a', 'b']);
    expect(Buffer.from(batch.frames[3], 'latin1')[0]).toBe(2); // the first record's kind
    for (const [i, r] of records.entries()) {
      const headers = parseMetadata(r.metadata ?? Buffer.alloc(0)) as Record<string, string>;
      expect(headers).toEqual({ 'timeout-ms': expect.any(String), 'x-body': ['a', 'b'][i] });
      expect(Number(headers['timeout-ms'])).toBeLessThanOrEqual(2000);
      expect(Number(headers['timeout-ms'])).toBeGreaterThan(1500);
    }
  });

  it('sends a body too large for a batch in the envelope, and never batches to a broker that does not offer it', async () => {
    const offered = await start(1 << 20);
    await offered.client.request('upper', 'first');
    const large = 'x'.repeat(16 * 1024 + 1);
    expect((await offered.client.request('upper', large)).toString()).toBe(large.toUpperCase());
    expect(offered.broker.seen.map((s) => s.frames[1])).toEqual(['TSR/1 REQ', 'TSR/1 REQ']);

    const silent = await start();
    await silent.client.request('upper', 'first');
    await Promise.all(['a', 'b', 'c'].map((b) => silent.client.request('upper', b)));
    expect(silent.broker.seen.map((s) => s.frames[1])).toEqual(['TSR/1 REQ', 'TSR/1 REQ', 'TSR/1 REQ', 'TSR/1 REQ']);
  });

  it('after a timeout sends again on a new connection, in envelopes until that connection is offered batches', async () => {
    let dropped = 0;
    const broker = await fakeBroker((s, n, frames) => {
      if (frames[1].toString() === 'TSR/1 REQS' && dropped++ === 0) return undefined; // the first batch is lost
      return answerBatches(s, n, frames);
    }, 1 << 20);
    const client = new Client({ broker: `127.0.0.1:${broker.port}`, identity: 'C me', timeout: 200, retries: 5 });
    open.push(client, broker.router);
    await client.request('upper', 'first');
    expect((await Promise.all(['a', 'b'].map((b) => client.request('upper', b)))).map(String)).toEqual(['A', 'B']);
    expect(client.retried).toBeGreaterThan(0);
    const resent = broker.seen.slice(2);
    expect(resent.length).toBeGreaterThan(0);
    expect(resent.every((s) => s.id.startsWith('C me#') && s.frames[1] === 'TSR/1 REQ')).toBe(true);
  });
});

describe('Client (several brokers)', () => {
  const open: { close(): void }[] = [];
  // A client's first connection goes to a broker at random: here, the first of the set.
  let random: jest.SpyInstance;
  beforeEach(() => (random = jest.spyOn(Math, 'random').mockReturnValue(0)));
  afterEach(() => {
    random.mockRestore();
    open.splice(0).forEach((c) => c.close());
  });

  it("asks each connection's broker its own question about batches: a connection's question ends with it, not carried to the next", async () => {
    const { brokers, endpoints } = await startBrokers(2, (i) => i === 0);
    // The request gives up on a connection before that connection's question does.
    const client = new Client({ broker: endpoints, timeout: 300, retries: 2 });
    open.push(client);
    expect((await client.request('default', 'x', { timeout: 100 })).toString()).toBe('x from 1');
    await new Promise((r) => setTimeout(r, 400)); // past the first question's own timeout
    expect(brokers.map((b) => b.questions)).toEqual([[client.identity], [`${client.identity}#1`]]);
    expect(client.stray).toBe(0);
  });

  it('starts at a broker picked at random, so that clients spread over the brokers', async () => {
    const { endpoints } = await startBrokers(3, () => false);
    random.mockReturnValue(0.7); // the third of three
    const client = new Client({ broker: endpoints, timeout: 2000, retries: 0 });
    open.push(client);
    expect((await client.request('default', 'x')).toString()).toBe('x from 2');
  });

  /**
   * `count` brokers at one port on 127.0.0.1, 127.0.0.2, …, so that the client's set (sorted) has
   * them in this order: broker i answers `<body> from <i>` after `delayMs`, unless `silent(i)`.
   */
  const startBrokers = async (count: number, silent: (i: number) => boolean, delayMs = 0) => {
    const brokers: Awaited<ReturnType<typeof fakeBroker>>[] = [];
    let port = 0;
    for (let i = 0; i < count; i++) {
      const answer = (s: Seen, n: number, frames: Buffer[]): Answer => {
        if (silent(i)) return undefined;
        const reply = replyWith((b) => `${b} from ${i}`)(s, n, frames) ?? [];
        if (delayMs === 0) return reply;
        setTimeout(() => void brokers[i].router.send([Buffer.from(s.id), ...reply]).catch(() => undefined), delayMs);
        return undefined;
      };
      const broker = await fakeBroker(answer, undefined, i === 0 ? undefined : { host: `127.0.0.${i + 1}`, port });
      port = broker.port;
      brokers.push(broker);
      open.push(broker.router);
    }
    return { port, brokers, endpoints: brokers.map((_, i) => `tcp://127.0.0.${i + 1}:${port}`) };
  };
  const ids = (broker: { seen: Seen[] }) => broker.seen.map((s) => s.id);

  it('opens each connection to the next broker of the set, round it in its order, and names every broker tried when none answers', async () => {
    const { port, brokers, endpoints } = await startBrokers(3, () => true);
    const broker = [endpoints[2], `127.0.0.2:${port},127.0.0.1:${port}`, { host: '127.0.0.3', port }];
    const client = new Client({ broker, identity: 'C me', timeout: 100, retries: 3 });
    open.push(client);
    expect(client.endpoint).toBe(endpoints[2]); // the first configured, before any connection
    await expect(client.request('default', 'lost')).rejects.toThrow(
      new NoAnswerError(`no answer from ${endpoints.join(', ')} after 4 attempt(s) of 100 ms`),
    );
    expect(client.endpoints).toEqual(endpoints);
    expect(brokers.map(ids)).toEqual([['C me', 'C me#3'], ['C me#1'], ['C me#2']]);
    expect(client.endpoint).toBe(endpoints[0]);
  });

  it('costs a request one retry when a broker never answers: the next broker answers it', async () => {
    const { brokers, endpoints } = await startBrokers(2, (i) => i === 0);
    const client = new Client({ broker: endpoints, identity: 'C me', timeout: 150, retries: 3 });
    open.push(client);
    expect((await client.request('default', 'job')).toString()).toBe('job from 1');
    expect(client.retried).toBe(1);
    expect(client.endpoint).toBe(endpoints[1]);
    expect(brokers.map(ids)).toEqual([['C me'], ['C me#1']]);
    // The connection stays with the broker that answers.
    expect((await client.request('default', 'next', { retries: 0 })).toString()).toBe('next from 1');
  });

  it('costs each request in flight one retry too: those moved to the next broker wait for it there rather than go back', async () => {
    // The live broker answers after 150 ms: the later requests' deadlines (on the dead one) run out before it does.
    const { brokers, endpoints } = await startBrokers(2, (i) => i === 0, 150);
    const client = new Client({ broker: endpoints, identity: 'C me', timeout: 300, retries: 3 });
    open.push(client);
    const answers: Promise<Buffer>[] = [];
    for (const body of ['a', 'b', 'c']) {
      answers.push(client.request('default', body));
      await new Promise((r) => setTimeout(r, 40));
    }
    expect((await Promise.all(answers)).map(String)).toEqual(['a from 1', 'b from 1', 'c from 1']);
    expect(client.retried).toBe(3);
    expect(brokers[0].seen.map((s) => `${s.id} ${s.frames[4]}`)).toEqual(['C me a', 'C me b', 'C me c']);
    expect(ids(brokers[1])).toEqual(['C me#1', 'C me#1', 'C me#1']);
  });

  it('takes each address of a name for a broker, sending what waited for the look-up once it is done', async () => {
    const { port, brokers, endpoints } = await startBrokers(2, (i) => i === 0);
    const lookup = jest.fn(async (host: string) => {
      await new Promise((r) => setTimeout(r, 50));
      if (host !== 'brokers') throw new Error(`getaddrinfo ENOTFOUND ${host}`);
      return ['127.0.0.2', '127.0.0.1'];
    });
    const client = new Client({ broker: `brokers:${port}`, identity: 'C me', timeout: 300, retries: 1, lookup });
    open.push(client);
    expect(client.endpoints).toEqual([]);
    expect((await client.request('default', 'job')).toString()).toBe('job from 1');
    expect(client.endpoints).toEqual(endpoints);
    expect(brokers.map(ids)).toEqual([['C me'], ['C me#1']]);
    expect(lookup).toHaveBeenCalledTimes(1);
  });

  it('looks the names up again while it lives, and no more once closed', async () => {
    const { port } = await startBrokers(2, () => false);
    const lookup = jest.fn(async () => ['127.0.0.1', '127.0.0.2']);
    const client = new Client({ broker: `brokers:${port}`, identity: 'C me', resolveIntervalMs: 20, lookup });
    await client.request('default', 'job');
    await until(() => lookup.mock.calls.length >= 3);
    await client.close();
    const calls = lookup.mock.calls.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(lookup).toHaveBeenCalledTimes(calls);
  });

  it('goes round the brokers in plain mode too', async () => {
    const dead = await fakeBroker(() => undefined);
    const alive = await fakeBroker((_s, _n, [, body]) => ['', `${body} W a`], undefined, { host: '127.0.0.2', port: dead.port });
    open.push(dead.router, alive.router);
    const client = new Client({ broker: `127.0.0.2:${dead.port},127.0.0.1:${dead.port}`, identity: 'C me', plain: true, timeout: 150 });
    open.push(client);
    expect((await client.request('default', 'C x')).toString()).toBe('C x W a');
    expect([ids(dead), ids(alive)]).toEqual([['C me'], ['C me#1']]);
  });
});

describe('Client (deadline and headers)', () => {
  const { open, start } = harness();
  const timeoutsOf = (seen: Seen[]) => seen.map((s) => Number(s.metadata?.['timeout-ms']));

  // timers may fire a little early by the loop's clock: a slack of 20 ms where a time left follows a timeout
  it("sends with each attempt the time left of that attempt, whose end leaves the connection (an answer after it is lost): not the whole budget's", async () => {
    const { broker, client } = await start((s, n, frames) => (n < 3 ? undefined : replyWith((b) => b)(s, n, frames)), {
      timeout: 200,
      retries: 2,
    });
    expect((await client.request('default', 'job')).toString()).toBe('job');
    expect(broker.seen.map((s) => Object.keys(s.metadata ?? {}))).toEqual([['timeout-ms'], ['timeout-ms'], ['timeout-ms']]);
    expect(broker.seen.map((s) => s.id)).toEqual(['C me', 'C me#1', 'C me#2']); // each attempt on a connection of its own
    for (const left of timeoutsOf(broker.seen)) {
      expect(left).toBeLessThanOrEqual(200);
      expect(left).toBeGreaterThan(150);
    }
  });

  it('sends a request moved to a new connection with the time left of its attempt, and a whole timeout more if it has a retry left (it waits that long there)', async () => {
    // "slow" times out on the first connection and takes "fast" and "last" along to the second.
    const { broker, client } = await start((s, n, frames) => (s.id === 'C me' ? undefined : replyWith((b) => b)(s, n, frames)), {
      retries: 1,
    });
    const slow = client.request('default', 'slow', { timeout: 100 });
    const fast = client.request('default', 'fast', { timeout: 5000 });
    const last = client.request('default', 'last', { timeout: 5000, retries: 0 });
    await Promise.all([slow, fast, last]);
    const sends = (body: string) => broker.seen.filter((s) => s.frames[4] === body);
    expect(sends('fast').map((s) => s.id)).toEqual(['C me', 'C me#1']);
    expect(sends('last').map((s) => s.id)).toEqual(['C me', 'C me#1']);
    const [fastBefore, fastAfter] = timeoutsOf(sends('fast'));
    expect(fastBefore).toBeLessThanOrEqual(5000);
    expect(fastBefore).toBeGreaterThan(4900);
    expect(fastAfter).toBeLessThanOrEqual(10_000 - 100 + 20);
    expect(fastAfter).toBeGreaterThan(9_000);
    // no retry left: its attempt's end is its last
    const [lastBefore, lastAfter] = timeoutsOf(sends('last'));
    expect(lastBefore).toBeLessThanOrEqual(5000);
    expect(lastBefore).toBeGreaterThan(4900);
    expect(lastAfter).toBeLessThanOrEqual(5000 - 100 + 20);
    expect(lastAfter).toBeGreaterThan(4000);
  });

  it('sends what was asked while no broker listened once one does, with the time left then; a request that ended meanwhile is not sent', async () => {
    const port = await freePort();
    const client = new Client({ broker: `127.0.0.1:${port}`, identity: 'C me', retries: 0 });
    open.push(client);
    const asked = Date.now();
    const gone = client.request('default', 'gone', { timeout: 200 });
    const kept = client.request('default', 'kept', { timeout: 3000 });
    await expect(gone).rejects.toThrow(NoAnswerError);
    await new Promise((r) => setTimeout(r, 300));
    const listening = Date.now(); // nothing is sent before: the time left then is at most 3000 - (listening - asked)
    const broker = await fakeBroker(
      replyWith((b) => b),
      undefined,
      { host: '127.0.0.1', port },
    );
    open.push(broker.router);
    expect((await kept).toString()).toBe('kept');
    expect(broker.seen.map((s) => s.frames[4])).toEqual(['kept']);
    expect(timeoutsOf(broker.seen)[0]).toBeLessThanOrEqual(3000 - (listening - asked) + 5);
  });

  it("sends the caller's headers with the deadline; a request without a timeout has none, nor a metadata frame without headers", async () => {
    const { broker, client } = await start(replyWith((b) => b));
    const headers = { 'x-user': 'ann', 'tenant.id': '7' };
    await client.request('default', 'a', { headers });
    await client.request('default', 'b', { headers, timeout: 0 });
    await client.request('default', 'c', { timeout: 0 });
    expect(broker.seen.map((s) => s.metadata)).toEqual([{ 'timeout-ms': expect.any(String), ...headers }, headers, undefined]);
    expect(broker.seen.map((s) => s.frames.length)).toEqual([5, 5, 5]); // the metadata frame taken out: 6 and 5 on the wire
  });

  it.each([
    ['an uppercase name', { 'X-User': 'ann' }, TypeError, /header name "X-User" must be 1-64 of a-z 0-9 . _ - \(lowercase\)/],
    ['a line break', { 'x-user': 'line\nbreak' }, TypeError, /header x-user must have a printable ASCII value/],
    ['timeout-ms', { 'timeout-ms': '5' }, TypeError, /header timeout-ms is the client's own/],
    ['traceparent', { traceparent: `00-${'1'.repeat(32)}-${'2'.repeat(16)}-01` }, TypeError, /header traceparent is the client's own/],
    ['tracestate', { tracestate: 'a=1' }, TypeError, /header tracestate is the client's own/],
    [
      '32 of them (33 with the deadline)',
      Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`h${i}`, 'v'])),
      RangeError,
      /at most 32 headers, got 33/,
    ],
    ['4 KiB (more with the deadline)', { big: 'x'.repeat(4090) }, RangeError, /at most 4096 bytes/],
  ])('rejects headers with %s before sending anything', async (_what, headers, type, message) => {
    const { broker, client } = await start(replyWith((b) => b));
    const failure = client.request('default', 'x', { headers });
    await expect(failure).rejects.toBeInstanceOf(type);
    await expect(failure).rejects.toThrow(message);
    await client.request('default', 'next');
    expect(broker.seen.map((s) => s.frames[4])).toEqual(['next']);
  });
});

/** The simplest context manager: the active context as a stack, for the synchronous calls of `context.with` (enough for `request()`). */
class StackContextManager implements ContextManager {
  private current: Context = ROOT_CONTEXT;
  active = () => this.current;
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A) {
    const before = this.current;
    this.current = ctx;
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.current = before;
    }
  }
  bind = <T>(_ctx: Context, target: T): T => target;
  enable = () => this;
  disable = () => ((this.current = ROOT_CONTEXT), this);
}

describe('Client (spans)', () => {
  const exporter = new InMemorySpanExporter();
  beforeAll(() => {
    trace.setGlobalTracerProvider(new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] }));
    context.setGlobalContextManager(new StackContextManager());
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });
  const open: { close(): void }[] = [];
  afterEach(() => {
    open.splice(0).forEach((c) => c.close());
    exporter.reset();
  });
  const start = async (answer: Parameters<typeof fakeBroker>[0], options: Partial<ConstructorParameters<typeof Client>[0]> = {}) => {
    const broker = await fakeBroker(answer);
    const client = new Client({ broker: `127.0.0.1:${broker.port}`, identity: 'C me', timeout: 2000, ...options });
    open.push(client, broker.router);
    return { broker, client };
  };
  const spans = (name: string) => exporter.getFinishedSpans().filter((s) => s.name === name);

  it('makes a request answered on its second attempt one trace: its span under the caller, one span per attempt, each sent with its own', async () => {
    const { broker, client } = await start((s, n, frames) => (n < 2 ? undefined : replyWith((b) => b)(s, n, frames)), {
      timeout: 150,
      retries: 2,
    });
    const caller = trace.getTracer('test').startSpan('caller');
    const reply = await context.with(trace.setSpan(context.active(), caller), () => client.request('upper', 'job'));
    caller.end();
    expect(reply.toString()).toBe('job');

    const [request] = spans('request upper');
    const attempts = spans('send upper');
    expect(
      exporter
        .getFinishedSpans()
        .map((s) => s.name)
        .sort(),
    ).toEqual(['caller', 'request upper', 'send upper', 'send upper']);
    expect(new Set(exporter.getFinishedSpans().map((s) => s.spanContext().traceId)).size).toBe(1);
    expect(request.kind).toBe(SpanKind.CLIENT);
    expect(request.parentSpanContext?.spanId).toBe(caller.spanContext().spanId);
    const id = Buffer.from(broker.seen[0].frames[3], 'latin1').toString('hex');
    expect(request.attributes).toEqual({
      'messaging.system': 'tsr',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'request',
      'messaging.destination.name': 'upper',
      'messaging.message.id': id,
      'messaging.message.body.size': 3,
      'tsr.timeout_ms': 450,
      'tsr.outcome': 'reply',
    });
    expect(request.status.code).toBe(SpanStatusCode.OK);

    expect(attempts.map((a) => [a.kind, a.parentSpanContext?.spanId, a.attributes['tsr.attempt']])).toEqual([
      [SpanKind.PRODUCER, request.spanContext().spanId, 1],
      [SpanKind.PRODUCER, request.spanContext().spanId, 2],
    ]);
    expect(attempts[0].status).toEqual({ code: SpanStatusCode.ERROR, message: 'no answer within 150 ms' });
    expect(attempts[0].attributes).toMatchObject({ 'tsr.outcome': 'timeout', 'server.address': '127.0.0.1', 'server.port': broker.port });
    expect(attempts[1].status.code).toBe(SpanStatusCode.OK);
    expect(attempts[1].attributes).toMatchObject({ 'tsr.outcome': 'reply', 'messaging.message.id': id });
    // each send names its attempt's span as the parent of what the broker does with it
    expect(broker.seen.map((s) => s.metadata?.traceparent)).toEqual(
      attempts.map((a) => `00-${a.spanContext().traceId}-${a.spanContext().spanId}-01`),
    );
    expect(spans('request tsr.batch')).toEqual([]); // the question about batches is the client's own
  });

  it("leaves an attempt's span behind when the request moves to a new connection, and sends it there with a new one", async () => {
    const { broker, client } = await start((s, n, frames) => (s.id === 'C me' ? undefined : replyWith((b) => b)(s, n, frames)), {
      retries: 1,
    });
    await Promise.all([client.request('upper', 'slow', { timeout: 100 }), client.request('upper', 'fast', { timeout: 5000 })]);
    const fastId = broker.seen.find((s) => s.frames[4] === 'fast')?.frames[3] ?? '';
    const fast = spans('send upper').filter((a) => a.attributes['messaging.message.id'] === Buffer.from(fastId, 'latin1').toString('hex'));
    expect(fast.map((a) => [a.attributes['tsr.attempt'], a.attributes['tsr.outcome'], a.status.code])).toEqual([
      [1, 'moved', SpanStatusCode.UNSET],
      [2, 'reply', SpanStatusCode.OK],
    ]);
    expect(broker.seen.filter((s) => s.frames[4] === 'fast').map((s) => s.metadata?.traceparent?.split('-')[2])).toEqual(
      fast.map((a) => a.spanContext().spanId),
    );
  });

  it("ends the request's spans with the error answer and the broker's reason, or with an abort", async () => {
    const { client } = await start((_s, n, [, , , id]) => (n === 1 ? ['', 'TSR/1 ERR', id, 'no-service upper'] : undefined));
    await expect(client.request('upper', 'x')).rejects.toBeInstanceOf(NoServiceError);
    const controller = new AbortController();
    const aborted = client.request('upper', 'y', { signal: controller.signal });
    await until(() => spans('send upper').length === 1); // the first request's attempt ended
    controller.abort();
    await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
    const [failed, abandoned] = spans('request upper');
    expect(failed.attributes).toMatchObject({ 'tsr.outcome': 'error', 'error.type': 'no-service' });
    expect(failed.status).toEqual({ code: SpanStatusCode.ERROR, message: 'no worker serves "upper"' });
    expect(abandoned.attributes).toMatchObject({ 'tsr.outcome': 'aborted' });
    expect(abandoned.status.code).toBe(SpanStatusCode.ERROR);
    expect(spans('send upper').map((s) => s.attributes['tsr.outcome'])).toEqual(['error', 'aborted']);
  });
});
