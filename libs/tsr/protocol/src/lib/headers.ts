/**
 * The words of TSR/1, one constant per header, and the shapes every conversation shares.
 * Seed peers never see a header: a seed worker's ready is '', its reply free text, and a seed
 * client's request one frame. See docs/protocol.md.
 */

export const PROTOCOL = 'TSR/1';

const word = (name: string): Buffer => Buffer.from(`${PROTOCOL} ${name}`);

/** A client's request for a named service: `[…, 'TSR/1 REQ', service, id, body]`. */
export const REQUEST_HEADER = word('REQ');
/** The broker's reply to it: `[…, 'TSR/1 REP', id, reply]`. */
export const REPLY_HEADER = word('REP');
/**
 * A failure: the broker's refusal of an envelope request (`[…, 'TSR/1 ERR', id, '<reason> <detail>']`),
 * a worker's handler failure (`[…, 'TSR/1 ERR', message]`), and, followed by a space, the prefix of a
 * plain error answer to a seed client.
 */
export const ERROR_HEADER = word('ERR');
/** A batch of requests (broker -> worker, client -> broker). */
export const REQUESTS_HEADER = word('REQS');
/** A batch of answers (worker -> broker, broker -> client). */
export const REPLIES_HEADER = word('REPS');
/** Our workers' ready (options may follow); it tells the broker the worker speaks heartbeats. */
export const READY_HEADER = word('READY');
/** A heartbeat, broker -> worker and worker -> broker. */
export const HEARTBEAT = word('HB');
/** What a stopping worker sends, so the broker moves its requests on at once. */
export const GOODBYE = word('BYE');
/** A worker's acceptance of batches; the broker's offer is this and ` max=N`. */
export const BATCH_ACCEPT = word('BATCH');
/** A broker's offer to let a worker move its credit between brokers (docs/protocol.md, "Several brokers"). */
export const LEASE_OFFER = word('LEASE');
/** The window a worker lends a broker (worker -> broker), and the broker's acknowledgement of it (broker -> worker): ` N` follows. */
export const CREDIT_HEADER = word('CREDIT');
/** A broker's demand: it has requests waiting for this worker's service and none of its window left. */
export const WANT = word('WANT');
/** Metadata (./metadata.ts): the broker's offer to forward requests with their headers, and a worker's acceptance of it. */
export const METADATA_OFFER = word('META');

export const EMPTY = Buffer.alloc(0);

export type Frames = readonly Buffer[];

/** A message that breaks the protocol, with the reason for the trace and the metrics. */
export interface Malformed {
  kind: 'malformed';
  reason: string;
}

export const malformed = (reason: string): Malformed => ({ kind: 'malformed', reason });

const CONTROL_PREFIX = Buffer.from(`${PROTOCOL} `);

/** A control body of TSR/1, as opposed to a seed peer's free text. */
export const isTsrControl = (body: Buffer): boolean =>
  body.length >= CONTROL_PREFIX.length && CONTROL_PREFIX.equals(body.subarray(0, CONTROL_PREFIX.length));
