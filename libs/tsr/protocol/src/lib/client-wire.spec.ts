import { EMPTY, describeError, describeErrorText, errorBody } from '..';
import { packBatches } from '..';
import {
  DEFAULT_SERVICE,
  clientBatchFrames,
  clientBatchRequestFrames,
  clientRequestFrames,
  envelopeErrorFrames,
  envelopeReplyFrames,
  isServiceName,
  parseClientAnswer,
  parseServiceRequest,
  serviceNameProblem,
} from '..';

const b = (s: string) => Buffer.from(s);
const C = b('C host-1');
const ID = b('7');
const text = (frames: Buffer[]) => frames.map((f) => f.toString());
/** What the frontend ROUTER reads from a DEALER client: the routing id, then what it sent. */
const atFrontend = (sent: Buffer[]) => [C, ...sent];
/** What a DEALER client reads from what the ROUTER sent: without the routing id. */
const atClient = (routed: Buffer[]) => routed.slice(1);

describe('service names', () => {
  it('are 1-64 letters, digits and . _ : -, starting with a letter or digit; tsr.* belong to the broker', () => {
    for (const ok of ['default', 'upper', 'a', 'json.v2', 'orders:eu-1', 'x'.repeat(64)]) expect(isServiceName(ok)).toBe(true);
    for (const bad of ['', '.x', '-x', 'a b', 'é', 'x'.repeat(65), 'a/b']) expect(isServiceName(bad)).toBe(false);
    expect(serviceNameProblem('tsr.services')).toMatch(/belong to the broker/);
    expect(serviceNameProblem('a b')).toMatch(/1-64 letters/);
    expect(serviceNameProblem('upper')).toBeUndefined();
  });
});

describe('parseServiceRequest (frontend input)', () => {
  it("a seed client's plain [clientId, '', request] is a request to the default service, with no id", () => {
    expect(parseServiceRequest([C, EMPTY, b('hi')])).toEqual({ client: C, service: DEFAULT_SERVICE, id: undefined, body: b('hi') });
    expect(parseServiceRequest([C, EMPTY, EMPTY])).toEqual({ client: C, service: DEFAULT_SERVICE, id: undefined, body: EMPTY });
  });

  it('an envelope names the service and carries the id', () => {
    const sent = clientRequestFrames('upper', ID, b('hi'));
    expect(text(atFrontend(sent))).toEqual(['C host-1', '', 'TSR/1 REQ', 'upper', '7', 'hi']);
    expect(parseServiceRequest(atFrontend(sent))).toEqual({ client: C, service: 'upper', id: ID, body: b('hi') });
  });

  it('an envelope with an invalid service name can be answered: bad-request', () => {
    expect(parseServiceRequest(atFrontend(clientRequestFrames('a b', ID, b('hi'))))).toEqual({
      kind: 'bad-request',
      client: C,
      id: ID,
      reason: 'invalid service name "a b"',
    });
  });

  it.each([
    ['two frames', [C, b('hi')]],
    ['four frames', [C, EMPTY, b('hi'), b('x')]],
    ['a delimiter that is not empty', [C, b('x'), b('hi')]],
    ['six frames without the header', [C, EMPTY, b('TSR/1 REP'), b('upper'), ID, b('hi')]],
    ['an empty id', [C, EMPTY, b('TSR/1 REQ'), b('upper'), EMPTY, b('hi')]],
    ['an id of 33 bytes', [C, EMPTY, b('TSR/1 REQ'), b('upper'), Buffer.alloc(33, 1), b('hi')]],
    ['an envelope without its delimiter', [C, b('x'), b('TSR/1 REQ'), b('upper'), ID, b('hi')]],
  ])('is malformed with %s', (_what, frames) => {
    expect(parseServiceRequest(frames)).toMatchObject({ kind: 'malformed' });
  });
});

describe('envelope answers (frontend -> DEALER client)', () => {
  it('a reply carries the request id back', () => {
    const routed = envelopeReplyFrames(C, ID, b('HI'));
    expect(text(routed)).toEqual(['C host-1', '', 'TSR/1 REP', '7', 'HI']);
    expect(parseClientAnswer(atClient(routed))).toEqual({ kind: 'reply', id: ID, body: b('HI') });
  });

  it('an error carries the reason and its detail, which a client turns into a sentence', () => {
    const routed = envelopeErrorFrames(C, ID, 'no-service', 'upper');
    expect(text(routed)).toEqual(['C host-1', '', 'TSR/1 ERR', '7', 'no-service upper']);
    const answer = parseClientAnswer(atClient(routed));
    expect(answer).toEqual({ kind: 'error', id: ID, text: 'no-service upper' });
    expect(describeErrorText('no-service upper')).toBe('no worker serves "upper"');
    expect(describeErrorText('handler invalid JSON at 3')).toBe('the service failed: invalid JSON at 3');
    expect(describeErrorText('something new')).toBe('broker error: something new');
  });

  it("a plain answer (a seed broker's) is told apart, and broken ones are malformed", () => {
    expect(parseClientAnswer([EMPTY, b('hi W1')])).toEqual({ kind: 'plain', body: b('hi W1') });
    expect(parseClientAnswer([EMPTY, b('TSR/1 XXX'), ID, b('x')])).toMatchObject({ kind: 'malformed' });
    expect(parseClientAnswer([b('x'), b('TSR/1 REP'), ID, b('x')])).toMatchObject({ kind: 'malformed' });
  });

  it('a plain client gets the same error as a body: TSR/1 ERR <reason> <detail>', () => {
    expect(errorBody('no-service', 'upper').toString()).toBe('TSR/1 ERR no-service upper');
    expect(describeError(errorBody('no-service', 'upper'))).toBe('no worker serves "upper"');
    expect(describeError(errorBody('too-large', 1024))).toBe('request too large: the broker accepts at most 1024 bytes');
  });
});

describe("a client's batches", () => {
  const records = (...rs: [string, string, boolean?][]) =>
    packBatches(
      rs.map(([id, body, failed = false]) => ({ ticket: b(id), body: b(body), failed })),
      Infinity,
    )[0];

  it('reads a batch of requests for one service, each id a ticket', () => {
    expect(parseServiceRequest(atFrontend(clientBatchRequestFrames(b('upper'), records(['1', 'a'], ['2', 'b']))))).toEqual({
      kind: 'batch',
      client: C,
      service: 'upper',
      records: [
        { ticket: b('1'), body: b('a'), failed: false },
        { ticket: b('2'), body: b('b'), failed: false },
      ],
    });
  });

  it('marks an invalid service as the problem of every request, and refuses a batch with a bad id, an answer or bad lengths whole', () => {
    expect(parseServiceRequest(atFrontend(clientBatchRequestFrames(b('no such'), records(['1', 'a']))))).toMatchObject({
      kind: 'batch',
      problem: 'invalid service name "no such"',
    });
    const bad = [
      [records(['1', 'a'], ['', 'b']), 'request id of 0 bytes, expected 1-32'],
      [records(['1', 'a'], ['x'.repeat(33), 'b']), 'request id of 33 bytes, expected 1-32'],
      [records(['1', 'a', true]), 'a batch of requests holds an answer'],
      [records(['1', 'a']).subarray(0, 5), 'batch record 1 is truncated'],
    ] as const;
    for (const [frame, reason] of bad)
      expect(parseServiceRequest(atFrontend(clientBatchRequestFrames(b('upper'), frame)))).toEqual({ kind: 'malformed', reason });
    expect(parseServiceRequest([C, b('x'), b('TSR/1 REQS'), b('upper'), records(['1', 'a'])])).toEqual({
      kind: 'malformed',
      reason: 'client message lacks the empty delimiter',
    });
  });

  it('gives a DEALER client the answers of a batch, errors marked', () => {
    const frame = records(['1', 'A'], ['2', 'no-service upper', true]);
    expect(parseClientAnswer(atClient(clientBatchFrames(C, frame)))).toEqual({
      kind: 'batch',
      records: [
        { ticket: b('1'), body: b('A'), failed: false },
        { ticket: b('2'), body: b('no-service upper'), failed: true },
      ],
    });
    expect(parseClientAnswer(atClient(clientBatchFrames(C, frame.subarray(1))))).toMatchObject({ kind: 'malformed' });
  });
});
