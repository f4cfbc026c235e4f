import { connect as tcpConnect } from 'node:net';
import fc from 'fast-check';
import { Request } from 'zeromq';
import {
  type Mechanism,
  type OurRouter,
  closeAll,
  frame,
  greeting,
  mechanism,
  ourRouter,
  readyCommand,
  rss,
  text,
  trackZmq,
  within,
} from './__fixtures__/harness';

/**
 * Arbitrary bytes, in arbitrary chunks, to a real ZmtpRouter over real TCP (NULL and CURVE), and
 * a valid NULL greeting and READY followed by garbage. Properties: no exception escapes; every
 * connection that has not completed a handshake is closed by the handshake deadline (300 ms here,
 * plus 500 ms of slack for a loaded machine); the router serves a libzmq REQ afterwards; its
 * process grows by less than 64 MiB of RSS over the whole run. `FUZZ_SEED=<n>` replays a run.
 */

jest.setTimeout(60_000);

const DEADLINE = 300;
const SLACK = 500;
const RSS_BOUND = 64 * 1024 * 1024;
const seed = process.env['FUZZ_SEED'] ? Number(process.env['FUZZ_SEED']) : Date.now() % 2 ** 31;
const params = { seed, numRuns: 15, endOnFailure: true };

const escaped: unknown[] = [];
const watch = (e: unknown) => escaped.push(e);
beforeAll(() => {
  console.log(`fuzz seed ${seed} (FUZZ_SEED=${seed} replays it)`);
  process.on('uncaughtException', watch);
  process.on('unhandledRejection', watch);
});
afterAll(() => {
  process.off('uncaughtException', watch);
  process.off('unhandledRejection', watch);
  closeAll();
});

/** A stream of bytes and where to cut it into writes. */
interface Stream {
  bytes: Uint8Array;
  cuts: number[];
}

const bytes = (max: number) => fc.uint8Array({ maxLength: max });
/** Frames with random flags (reserved bits, COMMAND and LONG included) and lengths that may lie. */
const frames = fc.array(
  fc.oneof(
    fc.record({ flags: fc.integer({ min: 0, max: 255 }), body: bytes(300) }).map(({ flags, body }) => frame(Buffer.from(body), flags)),
    fc.record({ flags: fc.integer({ min: 0, max: 255 }), size: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }) }).map(({ flags, size }) => {
      const h = Buffer.alloc(9);
      h[0] = flags | 0x02;
      h.writeBigUInt64BE(size, 1);
      return h;
    }),
    fc
      .record({ name: fc.constantFrom('PING', 'PONG', 'READY', 'ERROR', 'HELLO', 'SUBSCRIBE', ''), body: bytes(40) })
      .map(({ name, body }) => frame(Buffer.concat([Buffer.from([name.length]), Buffer.from(name), body]), 0x04)),
  ),
  { maxLength: 8 },
);
const cutsOf = (length: number) =>
  fc.array(fc.integer({ min: 0, max: Math.max(0, length) }), { maxLength: 6 }).map((c) => [...new Set(c)].sort((a, b) => a - b));
const withCuts = (arb: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Stream> =>
  arb.chain((b) => cutsOf(b.length).map((cuts) => ({ bytes: b, cuts })));

/** Garbage, or garbage after (a prefix of) a greeting that may or may not be valid. */
const garbage = withCuts(
  fc.oneof(
    bytes(600),
    fc
      .tuple(fc.constantFrom('NULL', 'CURVE', 'PLAIN', 'X'), fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 5 }), bytes(300))
      .map(([mech, keep, major, tail]) => {
        const g = greeting(mech, false, major);
        return Buffer.concat([g.subarray(0, keep), tail]);
      }),
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 255 }), frames).map(([at, value, fs]) => {
      const g = greeting('CURVE');
      g[at] = value; // one byte of the greeting changed
      return Buffer.concat([g, ...fs]);
    }),
  ),
);
/** A valid NULL greeting and READY, then random frames. */
const afterHandshake = withCuts(frames.map((fs) => Buffer.concat([greeting(), readyCommand({ 'Socket-Type': 'DEALER' }), ...fs])));

/** Writes the stream in its chunks; resolves with how long after connecting the router closed it, or undefined if it is still open after `waitMs`. */
function feed(port: number, stream: Stream, waitMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const s = tcpConnect(port, '127.0.0.1');
    const start = Date.now();
    s.on('error', () => undefined);
    s.on('data', () => undefined);
    const timer = setTimeout(() => {
      s.destroy();
      resolve(undefined);
    }, waitMs);
    s.once('close', () => {
      clearTimeout(timer);
      resolve(Date.now() - start);
    });
    s.once('connect', async () => {
      const b = Buffer.from(stream.bytes);
      let from = 0;
      for (const cut of [...stream.cuts, b.length]) {
        if (s.destroyed) return;
        if (cut > from) s.write(b.subarray(from, cut));
        from = cut;
        await new Promise((r) => setImmediate(r));
      }
    });
  });
}

async function servesARequest(h: OurRouter, m: Mechanism): Promise<void> {
  const req = trackZmq(new Request({ linger: 0, ...m.zmqClient }));
  req.connect(h.endpoint);
  await req.send('still there?');
  expect(text(await within(req.receive(), 3000, 'a reply after the fuzzing'))).toEqual(['still there?', 'reply']);
  req.close();
}

describe.each([['NULL' as const], ['CURVE' as const]])('fuzzing our ROUTER (%s)', (name) => {
  const m = mechanism(name);
  let h: OurRouter;
  let rssBefore = 0;
  beforeAll(async () => {
    h = await ourRouter(m, { handshakeTimeoutMs: DEADLINE, maxMessageBytes: 64 * 1024 }, '*', (f, router) =>
      router.send([...f, Buffer.from('reply')]),
    );
    rssBefore = rss();
  });

  it('arbitrary byte streams in arbitrary chunks: every connection closed by the handshake deadline, nothing escapes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(garbage, { minLength: 1, maxLength: 8 }), async (streams) => {
        const closedAfter = await Promise.all(streams.map((s) => feed(h.port, s, DEADLINE + SLACK)));
        return closedAfter.every((ms) => ms !== undefined && ms <= DEADLINE + SLACK) && escaped.length === 0;
      }),
      params,
    );
    expect(escaped).toEqual([]);
    await servesARequest(h, m);
  });

  if (name === 'NULL') {
    it('a valid greeting and READY, then garbage: nothing escapes, and the router keeps serving', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(afterHandshake, { minLength: 1, maxLength: 8 }), async (streams) => {
          await Promise.all(streams.map((s) => feed(h.port, s, 100)));
          return escaped.length === 0;
        }),
        { ...params, numRuns: 40 },
      );
      expect(escaped).toEqual([]);
      await servesARequest(h, m);
    });
  }

  it(`grew by less than ${RSS_BOUND / 1024 / 1024} MiB of RSS`, () => {
    const grown = rss() - rssBefore;
    console.log(
      `fuzzing ${name}: RSS ${(rssBefore / 1024 / 1024).toFixed(1)} MiB before, ${(grown / 1024 / 1024).toFixed(1)} MiB more after; heap used ${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(1)} MiB`,
    );
    expect(grown).toBeLessThan(RSS_BOUND);
  });
});
