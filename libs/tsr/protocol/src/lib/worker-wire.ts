/**
 * The conversation between the broker's backend and its workers, both sides. Frames as the
 * broker's ROUTER sees them ('' is an empty delimiter frame), byte-compatible with the seed's
 * REQ workers:
 *   broker -> worker     [workerId, '', ticket, '', request]
 *   worker -> broker     [workerId, '', ticket, '', reply]         (reply)
 *                        [workerId, '', ticket, '', 'TSR/1 ERR', message]  (the handler failed)
 *                        [workerId, '', '', '', readyBody]         (ready; the seed's readyBody is '')
 * The ticket (./ticket.ts) stands where a seed worker sees its client; it echoes it untouched.
 * Our workers use a DEALER and write the REQ envelope themselves: a leading '' frame.
 *
 * Extension (TSR/1), invisible to seed workers: a message whose ticket frame is empty is a
 * control message, and its body says which. The seed's ready has an empty body; ours says
 * `TSR/1 READY`, which a seed broker takes as a plain ready. Only a broker that understood it
 * sends `TSR/1 HB` heartbeats, and only a worker that received one sends them back (and a
 * `TSR/1 BYE` when it stops). Batches (./batch.ts) are negotiated after that heartbeat, and so is
 * metadata (./metadata.ts): the broker offers `TSR/1 META`, a worker that answers `TSR/1 META` is
 * sent the requests that have headers as [workerId, '', ticket, '', metadata, request].
 */

import { type BatchRecord, unpackBatch } from './batch';
import {
  BATCH_ACCEPT,
  CREDIT_HEADER,
  EMPTY,
  ERROR_HEADER,
  type Frames,
  GOODBYE,
  HEARTBEAT,
  isTsrControl,
  type Malformed,
  malformed,
  METADATA_OFFER,
  READY_HEADER,
  REPLIES_HEADER,
  REQUESTS_HEADER,
} from './headers';
import { DEFAULT_SERVICE, serviceNameProblem } from './service-names';

/** A request as a worker receives it: the ticket to echo, the body, and its metadata frame where it has one. */
export interface WorkerRequest {
  ticket: Buffer;
  body: Buffer;
  metadata?: Buffer;
}

/** Most requests a worker may ask to hold at once. */
export const MAX_CREDIT = 1000;
/**
 * Our ready: `TSR/1 READY`, then ` credit=N` when the worker holds more than one request at once
 * and ` service=NAME` when it serves a named service (absent: the default service). `credit=0`:
 * a worker that lends its credit to other brokers for now (see creditBody); only a broker that
 * moves credit takes it.
 */
export function readyBody(credit = 1, service = DEFAULT_SERVICE): Buffer {
  const credited = credit === 1 ? '' : ` credit=${credit}`;
  const named = service === DEFAULT_SERVICE ? '' : ` service=${service}`;
  return Buffer.from(`${READY_HEADER.toString('latin1')}${credited}${named}`);
}
const READY_OPTIONS = /^TSR\/1 READY(?: credit=(0|[1-9]\d{0,3}))?(?: service=(\S+))?$/;
const CREDIT = /^TSR\/1 CREDIT (0|[1-9]\d{0,3})$/;

/**
 * `TSR/1 CREDIT N`: worker -> broker, the requests this broker may hold at the worker from now on
 * (its window, 0 to the ready's limit); broker -> worker, the window now in force (the worker's
 * asking acknowledged: every request sent before it was sent under the old window).
 */
export const creditBody = (window: number): Buffer => Buffer.from(`${CREDIT_HEADER.toString('latin1')} ${window}`);

/** The window a `TSR/1 CREDIT N` body names (0 to MAX_CREDIT), or undefined if it is none. */
export function parseCredit(body: Buffer): number | undefined {
  const credit = CREDIT.exec(body.toString('latin1'));
  return credit && Number(credit[1]) <= MAX_CREDIT ? Number(credit[1]) : undefined;
}
/**
 * Longest wait between a worker's reconnection attempts (it backs off from 100 ms up to it): the
 * broker's startup grace allows for it, so workers of a restarted broker are back before it
 * answers no-service.
 */
export const WORKER_RECONNECT_MAX_MS = 5000;

export type WorkerMessage =
  /**
   * `heartbeats`: false for a seed worker (its ready body is '', or anything not TSR/1);
   * `credit`: requests it may hold at once (1 for a seed worker); `service`: what it serves.
   */
  | { kind: 'ready'; worker: Buffer; heartbeats: boolean; credit: number; service: string }
  | { kind: 'heartbeat'; worker: Buffer }
  | { kind: 'goodbye'; worker: Buffer }
  /** The worker accepted the broker's offer of batches. */
  | { kind: 'batch-accept'; worker: Buffer }
  /** The worker accepted the broker's offer of metadata. */
  | { kind: 'metadata-accept'; worker: Buffer }
  /** The window the worker lends this broker from now on (it accepted the offer of leases). */
  | { kind: 'credit'; worker: Buffer; credit: number }
  /** Several answers in one message. */
  | { kind: 'replies'; worker: Buffer; records: BatchRecord[] }
  /** `failed`: the worker's handler threw; `body` is its message, for an error answer. */
  | { kind: 'reply'; worker: Buffer; ticket: Buffer; body: Buffer; failed: boolean };

/**
 * Backend input: `[workerId, '', ticket, '', body]` (an empty ticket means a control message:
 * ready, heartbeat, goodbye), or a handler's failure `[workerId, '', ticket, '', 'TSR/1 ERR', message]`.
 */
export function parseWorkerMessage(frames: Frames): WorkerMessage | Malformed {
  if (frames.length === 3 && frames[1].equals(REPLIES_HEADER)) {
    const records = unpackBatch(frames[2]);
    return typeof records === 'string' ? malformed(records) : { kind: 'replies', worker: frames[0], records };
  }
  const failed = frames.length === 6 && frames[4].equals(ERROR_HEADER);
  if (frames.length !== 5 && !failed) return malformed(`worker message has ${frames.length} frames, expected 5`);
  const [worker, d1, ticket, d2] = frames;
  const body = frames[frames.length - 1];
  if (d1.length !== 0 || d2.length !== 0) return malformed('worker message lacks an empty delimiter');
  if (ticket.length > 0) return { kind: 'reply', worker, ticket, body, failed };
  if (failed) return malformed('a failure without a ticket');
  if (!isTsrControl(body)) return { kind: 'ready', worker, heartbeats: false, credit: 1, service: DEFAULT_SERVICE };
  if (body.equals(HEARTBEAT)) return { kind: 'heartbeat', worker };
  if (body.equals(GOODBYE)) return { kind: 'goodbye', worker };
  if (body.equals(BATCH_ACCEPT)) return { kind: 'batch-accept', worker };
  if (body.equals(METADATA_OFFER)) return { kind: 'metadata-accept', worker };
  const credit = parseCredit(body);
  if (credit !== undefined) return { kind: 'credit', worker, credit };
  const ready = READY_OPTIONS.exec(body.toString('latin1'));
  const window = Number(ready?.[1] ?? 1);
  const service = ready?.[2] ?? DEFAULT_SERVICE;
  if (ready && window <= MAX_CREDIT && serviceNameProblem(service) === undefined)
    return { kind: 'ready', worker, heartbeats: true, credit: window, service };
  return malformed(`unknown command ${JSON.stringify(body.subarray(0, 40).toString('latin1'))}`);
}

/** Broker -> worker, on the backend ROUTER; `metadata` only to a worker that accepted `TSR/1 META`. */
export const toWorkerFrames = (worker: Buffer, ticket: Buffer, body: Buffer, metadata?: Buffer): Buffer[] =>
  metadata ? [worker, EMPTY, ticket, EMPTY, metadata, body] : [worker, EMPTY, ticket, EMPTY, body];

/**
 * A DEALER worker's control message (empty ticket frame), the REQ envelope written by hand:
 * `body` '' is the seed's ready; TSR/1 READY, HB and BYE travel the same way.
 */
export const workerControlFrames = (body: Buffer = EMPTY): Buffer[] => [EMPTY, EMPTY, EMPTY, body];

/** Broker -> worker, on the backend ROUTER: a batch of requests. */
export const toWorkerBatchFrames = (worker: Buffer, records: Buffer): Buffer[] => [worker, REQUESTS_HEADER, records];

/** A DEALER worker's batch of answers. */
export const workerBatchFrames = (records: Buffer): Buffer[] => [REPLIES_HEADER, records];

/** A DEALER worker's reply, in the same hand-written envelope. */
export const workerReplyFrames = (ticket: Buffer, body: Buffer): Buffer[] => [EMPTY, ticket, EMPTY, body];

/** Longest failure message a worker sends; the rest is cut. */
export const MAX_FAILURE_MESSAGE = 1024;

/** A DEALER worker's failure (only to a broker that showed it speaks TSR/1: a seed broker would take the message for the reply). */
export const workerFailureFrames = (ticket: Buffer, message: string): Buffer[] => [
  EMPTY,
  ticket,
  EMPTY,
  ERROR_HEADER,
  failureMessage(message),
];

/** A handler's failure message as a worker sends it, cut at MAX_FAILURE_MESSAGE. */
export const failureMessage = (message: string): Buffer =>
  Buffer.from(message.length > MAX_FAILURE_MESSAGE ? `${message.slice(0, MAX_FAILURE_MESSAGE - 1)}…` : message);

/** Several requests in one message (a batch). */
export interface RequestBatch {
  kind: 'batch';
  records: BatchRecord[];
}

/**
 * What a DEALER worker receives: `['', ticket, '', request]` (`['', ticket, '', metadata, request]`
 * once it accepted metadata), a control message (heartbeat, offers) with an empty ticket, or a
 * batch `['TSR/1 REQS', records]`.
 */
export function parseWorkerRequest(frames: Frames): WorkerRequest | RequestBatch | Malformed {
  if (frames.length === 2 && frames[0].equals(REQUESTS_HEADER)) {
    const records = unpackBatch(frames[1]);
    return typeof records === 'string' ? malformed(records) : { kind: 'batch', records };
  }
  if (frames.length !== 4 && frames.length !== 5) return malformed(`request to worker has ${frames.length} frames, expected 4 or 5`);
  const [d1, ticket, d2] = frames;
  if (d1.length !== 0 || d2.length !== 0) return malformed('request to worker lacks an empty delimiter');
  return frames.length === 4 ? { ticket, body: frames[3], metadata: undefined } : { ticket, metadata: frames[3], body: frames[4] };
}
