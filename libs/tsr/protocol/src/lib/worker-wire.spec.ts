import {
  EMPTY,
  LEASE_OFFER,
  WANT,
  creditBody,
  parseCredit,
  GOODBYE,
  HEARTBEAT,
  READY_HEADER,
  isTsrControl,
  answerBody,
  isAnswerTo,
  readyBody,
  type Frames,
  parseWorkerMessage,
  parseWorkerRequest,
  workerFailureFrames,
  toClientFrames,
  toWorkerFrames,
  workerControlFrames,
  workerReplyFrames,
} from '..';
import { parseServiceRequest } from '..';
import { packBatches } from '..';

const b = (s: string) => Buffer.from(s);
const W = b('W host-1-abcdef');
const C = b('C host-2-012345');
const REQ = b('C host');
const REP = b('C host W host-1-abcdef');

/** Frames as plain strings, so the expectations read like docs/protocol.md. */
const text = (frames: Frames) => frames.map((f) => f.toString('latin1'));

/** Byte-level equality of two frame lists: same count, same bytes in each frame. */
function expectFrames(actual: Frames, expected: (string | Buffer)[]) {
  expect(actual.every((f) => Buffer.isBuffer(f))).toBe(true);
  expect(actual).toHaveLength(expected.length);
  expected.forEach((e, i) => {
    const want = typeof e === 'string' ? Buffer.from(e, 'latin1') : e;
    expect(Buffer.compare(actual[i], want)).toBe(0);
  });
}

describe('EMPTY', () => {
  it('is a zero-length buffer (the empty delimiter frame)', () => {
    expect(Buffer.isBuffer(EMPTY)).toBe(true);
    expect(EMPTY.length).toBe(0);
  });
});

describe('builders produce exactly the frames of docs/protocol.md', () => {
  it('broker -> worker on the backend ROUTER: [workerId, "", clientId, "", request]', () => {
    expectFrames(toWorkerFrames(W, C, REQ), [W, '', C, '', REQ]);
  });

  it('broker -> client on the frontend ROUTER: [clientId, "", reply]', () => {
    expectFrames(toClientFrames(C, REP), [C, '', REP]);
  });

  it('DEALER worker ready: REQ envelope "" then ["", "", ""] (the seed sends readyBody "")', () => {
    expectFrames(workerControlFrames(), ['', '', '', '']);
    expectFrames(workerControlFrames(b('hello')), ['', '', '', 'hello']);
  });

  it('DEALER worker reply: REQ envelope "" then [clientId, "", reply]', () => {
    expectFrames(workerReplyFrames(C, REP), ['', C, '', REP]);
  });

  it('keeps binary bodies and ids byte for byte', () => {
    const bin = Buffer.from([0x00, 0xff, 0x80, 0x0a]);
    expectFrames(toWorkerFrames(bin, bin, bin), [bin, '', bin, '', bin]);
    expect(toClientFrames(b('c'), b('é'))[2]).toEqual(Buffer.from([0xc3, 0xa9]));
  });
});

describe('parseWorkerMessage (backend input)', () => {
  it('a reply: [workerId, "", ticket, "", reply]', () => {
    expect(parseWorkerMessage([W, EMPTY, C, EMPTY, REP])).toEqual({ kind: 'reply', worker: W, ticket: C, body: REP, failed: false });
  });

  it('ready: an empty clientId, the seed\'s [workerId, "", "", "", ""]', () => {
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, EMPTY])).toEqual({
      kind: 'ready',
      worker: W,
      heartbeats: false,
      credit: 1,
      service: 'default',
    });
  });

  it('a ready with a free-text body is a seed ready, as a seed broker would take it', () => {
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, b('caps')])).toEqual({
      kind: 'ready',
      worker: W,
      heartbeats: false,
      credit: 1,
      service: 'default',
    });
  });

  it('TSR/1 READY announces a heartbeating worker; TSR/1 HB is a heartbeat', () => {
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, READY_HEADER])).toEqual({
      kind: 'ready',
      worker: W,
      heartbeats: true,
      credit: 1,
      service: 'default',
    });
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, HEARTBEAT])).toEqual({ kind: 'heartbeat', worker: W });
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, GOODBYE])).toEqual({ kind: 'goodbye', worker: W });
    expect(GOODBYE.toString()).toBe('TSR/1 BYE');
    expect(READY_HEADER.toString()).toBe('TSR/1 READY');
    expect(HEARTBEAT.toString()).toBe('TSR/1 HB');
  });

  it('TSR/1 READY credit=N announces a worker that holds up to N requests (0-1000: 0 lends none to this broker yet)', () => {
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, readyBody(8)])).toEqual({
      kind: 'ready',
      worker: W,
      heartbeats: true,
      credit: 8,
      service: 'default',
    });
    expect(readyBody(8).toString()).toBe('TSR/1 READY credit=8');
    expect(readyBody(1)).toEqual(READY_HEADER);
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, readyBody(0)])).toMatchObject({ kind: 'ready', credit: 0 });
    expect(readyBody(0).toString()).toBe('TSR/1 READY credit=0');
    for (const bad of [
      'TSR/1 READY credit=00',
      'TSR/1 READY credit=1001',
      'TSR/1 READY credit=x',
      'TSR/1 READY credit=08',
      'TSR/1 READY  credit=2',
    ]) {
      expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, b(bad)])).toMatchObject({ kind: 'malformed' });
    }
  });

  it('TSR/1 READY … service=NAME announces a worker of a named service; names of the broker or invalid ones are malformed', () => {
    expect(readyBody(1, 'upper').toString()).toBe('TSR/1 READY service=upper');
    expect(readyBody(4, 'upper').toString()).toBe('TSR/1 READY credit=4 service=upper');
    expect(readyBody(1, 'default')).toEqual(READY_HEADER);
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, readyBody(4, 'upper')])).toEqual({
      kind: 'ready',
      worker: W,
      heartbeats: true,
      credit: 4,
      service: 'upper',
    });
    for (const bad of [
      'TSR/1 READY service=tsr.services',
      'TSR/1 READY service=',
      'TSR/1 READY service=a b',
      'TSR/1 READY service=upper credit=2',
      `TSR/1 READY service=${'x'.repeat(65)}`,
    ]) {
      expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, b(bad)])).toMatchObject({ kind: 'malformed' });
    }
  });

  it("TSR/1 CREDIT N moves a worker's window (0-1000) both ways; anything else is malformed", () => {
    expect(creditBody(3).toString()).toBe('TSR/1 CREDIT 3');
    expect(parseCredit(creditBody(0))).toBe(0);
    expect(parseCredit(creditBody(1000))).toBe(1000);
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, creditBody(7)])).toEqual({ kind: 'credit', worker: W, credit: 7 });
    for (const bad of ['TSR/1 CREDIT', 'TSR/1 CREDIT 1001', 'TSR/1 CREDIT 01', 'TSR/1 CREDIT -1', 'TSR/1 CREDIT 2 ']) {
      expect(parseCredit(b(bad))).toBeUndefined();
      expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, b(bad)])).toMatchObject({ kind: 'malformed' });
    }
    expect(LEASE_OFFER.toString()).toBe('TSR/1 LEASE');
    expect(WANT.toString()).toBe('TSR/1 WANT');
  });

  it("a handler's failure: the reply frames plus TSR/1 ERR and the message, cut at 1 KiB", () => {
    const atBackend = [W, ...workerFailureFrames(C, 'bad input')];
    expect(text(atBackend)).toEqual([W.toString(), '', C.toString(), '', 'TSR/1 ERR', 'bad input']);
    expect(parseWorkerMessage(atBackend)).toEqual({ kind: 'reply', worker: W, ticket: C, body: b('bad input'), failed: true });
    expect(workerFailureFrames(C, 'x'.repeat(5000))[4].toString().length).toBe(1024);
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, b('TSR/1 ERR'), b('m')])).toMatchObject({ kind: 'malformed' });
    expect(parseWorkerMessage([W, EMPTY, C, EMPTY, b('TSR/1 XX'), b('m')])).toMatchObject({ kind: 'malformed' });
  });

  it('an answer is `<request> <worker id>`, and isAnswerTo tells it from an answer to another request', () => {
    const answer = answerBody(b('job #1'), b(' W x'));
    expect(answer.toString()).toBe('job #1 W x');
    expect(isAnswerTo(b('job #1'), answer)).toBe(true);
    expect(isAnswerTo(b('job #2'), answer)).toBe(false);
    expect(isAnswerTo(b('job #'), answer)).toBe(false); // then '1', not a space
    expect(isAnswerTo(b('job #1 W x'), answer)).toBe(false);
    expect(isAnswerTo(EMPTY, b(' W x'))).toBe(true);
  });

  it('an unknown TSR/1 command is malformed, not a ready', () => {
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, b('TSR/1 BOGUS')])).toEqual({
      kind: 'malformed',
      reason: 'unknown command "TSR/1 BOGUS"',
    });
    expect(isTsrControl(b('TSR/1'))).toBe(false);
    expect(isTsrControl(b('TSR/1 X'))).toBe(true);
  });

  it('a reply with an empty body is still a reply (only the ticket decides)', () => {
    expect(parseWorkerMessage([W, EMPTY, C, EMPTY, EMPTY])).toEqual({ kind: 'reply', worker: W, ticket: C, body: EMPTY, failed: false });
  });

  it.each([
    [[W, EMPTY, C, REP], 4],
    [[W, EMPTY, C, EMPTY, REP, REP], 6], // six frames only for a failure, headed TSR/1 ERR
    [[W, EMPTY, REP], 3],
    [[], 0],
  ])('rejects a message with the wrong frame count %#', (frames, n) => {
    expect(parseWorkerMessage(frames)).toEqual({ kind: 'malformed', reason: expect.stringContaining(`${n} frames, expected 5`) });
  });

  it('rejects a non-empty first or second delimiter', () => {
    for (const frames of [
      [W, b('x'), C, EMPTY, REP],
      [W, EMPTY, C, b('x'), REP],
      [W, b('x'), EMPTY, b('y'), EMPTY],
    ]) {
      expect(parseWorkerMessage(frames)).toEqual({ kind: 'malformed', reason: expect.stringMatching(/delimiter/) });
    }
  });
});

describe('parseWorkerRequest (what a DEALER worker receives)', () => {
  it('parses ["", ticket, "", request]', () => {
    expect(parseWorkerRequest([EMPTY, C, EMPTY, REQ])).toEqual({ ticket: C, body: REQ });
  });

  it.each([
    [[C, EMPTY, REQ], 3],
    [[EMPTY, C, EMPTY, REQ, REQ, REQ], 6],
    [[], 0],
  ])('rejects the wrong frame count %#', (frames, n) => {
    expect(parseWorkerRequest(frames)).toEqual({ kind: 'malformed', reason: expect.stringContaining(`${n} frames, expected 4`) });
  });

  it('rejects non-empty delimiters', () => {
    expect(parseWorkerRequest([b('x'), C, EMPTY, REQ])).toMatchObject({ kind: 'malformed' });
    expect(parseWorkerRequest([EMPTY, C, b('x'), REQ])).toMatchObject({ kind: 'malformed' });
  });
});

describe('round trips (what each side sends is what the other side parses)', () => {
  /** A ROUTER prepends the sender's routing id; a DEALER receives what the ROUTER sent minus the id. */
  const routerReceives = (id: Buffer, sent: Frames): Buffer[] => [id, ...sent];
  const dealerReceives = (routed: Frames): Buffer[] => routed.slice(1);

  it('client request -> frontend -> backend -> DEALER worker', () => {
    const atFrontend = routerReceives(C, [EMPTY, REQ]); // a REQ client adds the empty delimiter
    const req = parseServiceRequest(atFrontend);
    if ('kind' in req) throw new Error(req.kind);
    const atWorker = dealerReceives(toWorkerFrames(W, req.client, req.body));
    expect(parseWorkerRequest(atWorker)).toEqual({ ticket: C, body: REQ });
  });

  it("DEALER worker ready -> backend sees the seed's ready", () => {
    const atBackend = routerReceives(W, workerControlFrames());
    expect(text(atBackend)).toEqual([W.toString(), '', '', '', '']);
    expect(parseWorkerMessage(atBackend)).toEqual({ kind: 'ready', worker: W, heartbeats: false, credit: 1, service: 'default' });
  });

  it('DEALER worker reply -> backend -> frontend -> client', () => {
    const atBackend = routerReceives(W, workerReplyFrames(C, REP));
    expect(text(atBackend)).toEqual([W.toString(), '', C.toString(), '', REP.toString()]);
    const msg = parseWorkerMessage(atBackend);
    expect(msg).toEqual({ kind: 'reply', worker: W, ticket: C, body: REP, failed: false });
    if (msg.kind !== 'reply') throw new Error('not a reply');
    const toClient = toClientFrames(msg.ticket, msg.body);
    // What the ROUTER puts on the wire to the client: [delimiter, reply], which a REQ client accepts.
    expectFrames(dealerReceives(toClient), ['', REP]);
    expect(parseServiceRequest(toClient)).toEqual({ client: C, service: 'default', id: undefined, body: REP });
  });

  it('a seed-style REQ worker reply ([clientId, "", reply] plus the REQ envelope) parses as a reply', () => {
    const reqEnvelope = [EMPTY, C, EMPTY, REP];
    expect(parseWorkerMessage(routerReceives(W, reqEnvelope))).toEqual({ kind: 'reply', worker: W, ticket: C, body: REP, failed: false });
  });
});

describe('batches on the backend (see batch.spec.ts for the records)', () => {
  const [records] = packBatches(
    [
      { ticket: C, body: REP, failed: false },
      { ticket: b('T2'), body: b('why'), failed: true },
    ],
    Infinity,
  );

  it('reads a batch of answers, and the acceptance of the offer', () => {
    expect(parseWorkerMessage([W, b('TSR/1 REPS'), records])).toEqual({
      kind: 'replies',
      worker: W,
      records: [
        { ticket: C, body: REP, failed: false },
        { ticket: b('T2'), body: b('why'), failed: true },
      ],
    });
    expect(parseWorkerMessage([W, EMPTY, EMPTY, EMPTY, b('TSR/1 BATCH')])).toEqual({ kind: 'batch-accept', worker: W });
  });

  it('refuses a bad batch whole', () => {
    expect(parseWorkerMessage([W, b('TSR/1 REPS'), records.subarray(0, records.length - 1)])).toEqual({
      kind: 'malformed',
      reason: 'batch record 2 is truncated',
    });
    expect(parseWorkerMessage([W, b('TSR/1 REPS'), EMPTY])).toEqual({ kind: 'malformed', reason: 'empty batch' });
    expect(parseWorkerMessage([W, b('TSR/1 REQS'), records])).toMatchObject({ kind: 'malformed' });
  });

  it('gives a DEALER worker the requests of a batch', () => {
    expect(parseWorkerRequest([b('TSR/1 REQS'), records])).toMatchObject({
      kind: 'batch',
      records: [{ ticket: C, body: REP }, { ticket: b('T2') }],
    });
    expect(parseWorkerRequest([b('TSR/1 REQS'), b('x')])).toEqual({ kind: 'malformed', reason: 'batch record 1 is truncated' });
    expect(parseWorkerRequest([b('TSR/1 REPS'), records])).toMatchObject({ kind: 'malformed' });
  });
});
