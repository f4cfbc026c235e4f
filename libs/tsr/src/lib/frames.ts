/**
 * The wire protocol (SPEC §1), byte-compatible with the seed's REQ clients and workers.
 * Frames as the broker's ROUTER sockets see them ('' is an empty delimiter frame):
 *   client -> frontend   [clientId, '', request]
 *   frontend -> client   [clientId, '', reply]
 *   broker -> worker     [workerId, '', clientId, '', request]
 *   worker -> broker     [workerId, '', clientId, '', reply]      (reply)
 *                        [workerId, '', '', '', readyBody]        (ready; the seed's readyBody is '')
 * A worker on a DEALER socket writes the REQ envelope itself: a leading '' frame.
 *
 * A handler's failure adds two frames to a reply: [workerId, '', clientId, '', 'TSR/1 ERR', message].
 * Clients that name a service use the envelope of ./services.ts.
 *
 * Extension (TSR/1), invisible to seed-style peers: a message whose client frame is empty is a
 * control message, and its body says which. The seed's ready has an empty body; ours says
 * `TSR/1 READY`, which a seed broker takes as a plain ready. Only a broker that understood it
 * sends `TSR/1 HB` heartbeats, and only a worker that received one sends them back (and a
 * `TSR/1 BYE` when it stops). Batches (./batch.ts) are negotiated after that heartbeat.
 * See docs/protocol.md.
 */

import { BATCH_ACCEPT, type BatchRecord, REPLIES_HEADER, REQUESTS_HEADER, unpackBatch } from './batch';
import { DEFAULT_SERVICE, serviceNameProblem } from './service-names';

export const EMPTY = Buffer.alloc(0);

export type Frames = readonly Buffer[];

export { ownCopy } from '@tsr/zmtp';

export interface ClientRequest {
  client: Buffer;
  body: Buffer;
}

export const PROTOCOL = 'TSR/1';
/** Body of our workers' ready: announces that the worker speaks heartbeats. */
export const READY_TSR = Buffer.from(`${PROTOCOL} READY`);
/** Most requests a worker may ask to hold at once. */
export const MAX_CREDIT = 1000;
/**
 * Our ready: `TSR/1 READY`, then ` credit=N` when the worker holds more than one request at once
 * and ` service=NAME` when it serves a named service (absent: the default service).
 */
export function readyBody(credit = 1, service = DEFAULT_SERVICE): Buffer {
  const credited = credit === 1 ? '' : ` credit=${credit}`;
  const named = service === DEFAULT_SERVICE ? '' : ` service=${service}`;
  return Buffer.from(`${PROTOCOL} READY${credited}${named}`);
}
const READY_OPTIONS = /^TSR\/1 READY(?: credit=([1-9]\d{0,3}))?(?: service=(\S+))?$/;
/**
 * Longest wait between a worker's reconnection attempts (libzmq backs off from 100 ms up to it);
 * the broker's startup grace allows for it.
 */
export const WORKER_RECONNECT_MAX_MS = 5000;
/** Body of a heartbeat, broker -> worker and worker -> broker. */
export const HEARTBEAT = Buffer.from(`${PROTOCOL} HB`);
/** Body a stopping worker sends, so the broker moves its request on at once. */
export const GOODBYE = Buffer.from(`${PROTOCOL} BYE`);
/**
 * Why the broker answers a request with an error instead of a reply. The answer body is
 * `TSR/1 ERR <reason>` plus, for some, one detail: the limit that was hit.
 */
export const ERROR_REASONS = ['overloaded', 'client-share', 'too-large', 'expired', 'poison', 'no-service', 'bad-request', 'handler'] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];
const ERR_PREFIX = `${PROTOCOL} ERR `;

/** The text after `TSR/1 ERR ` in a plain answer, or the error frame of an envelope answer. */
export const errorText = (reason: ErrorReason, detail?: number | string): string => (detail === undefined ? reason : `${reason} ${detail}`);
export const errorBody = (reason: ErrorReason, detail?: number | string): Buffer => Buffer.from(`${ERR_PREFIX}${errorText(reason, detail)}`);

const explain: Record<ErrorReason, (detail: string) => string> = {
  overloaded: () => 'broker overloaded: its queue of pending requests is full',
  'client-share': () => "broker overloaded: this client's share of its queue is full",
  'too-large': (d) => `request too large: the broker accepts at most ${d} bytes`,
  expired: (d) => `request expired: no worker served it within ${d} ms`,
  poison: (d) => `request refused: ${d} workers failed while serving it`,
  'no-service': (d) => `no worker serves "${d}"`,
  'bad-request': (d) => `request refused by the broker: ${d}`,
  handler: (d) => `the service failed: ${d}`,
};

/** `reason detail…` (the error text of an answer) as a sentence; the detail may hold spaces. */
export function describeErrorText(text: string): string {
  const space = text.indexOf(' ');
  const reason = space < 0 ? text : text.slice(0, space);
  const detail = space < 0 ? '?' : text.slice(space + 1);
  return (ERROR_REASONS as readonly string[]).includes(reason) ? explain[reason as ErrorReason](detail) : `broker error: ${text}`;
}

/** A client's view of a plain error answer: a sentence saying what happened, or undefined for a reply. */
export function describeError(reply: Buffer): string | undefined {
  if (reply.length < ERR_PREFIX.length || reply.toString('latin1', 0, ERR_PREFIX.length) !== ERR_PREFIX) return undefined;
  return describeErrorText(reply.toString('utf8', ERR_PREFIX.length));
}
const TSR_PREFIX = Buffer.from(`${PROTOCOL} `);

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
  /** Several answers in one message. */
  | { kind: 'replies'; worker: Buffer; records: BatchRecord[] }
  /** `failed`: the worker's handler threw; `body` is its message, for an error answer. */
  | { kind: 'reply'; worker: Buffer; client: Buffer; body: Buffer; failed: boolean };

/** A message that breaks the protocol, with the reason for the trace. */
export interface Malformed {
  kind: 'malformed';
  reason: string;
}

const malformed = (reason: string): Malformed => ({ kind: 'malformed', reason });

/**
 * Backend input: `[workerId, '', ticket, '', body]` (an empty ticket means a control message:
 * ready, heartbeat, goodbye), or a handler's failure `[workerId, '', ticket, '', 'TSR/1 ERR', message]`.
 */
export function parseWorkerMessage(frames: Frames): WorkerMessage | Malformed {
  if (frames.length === 3 && frames[1].equals(REPLIES_HEADER)) {
    const records = unpackBatch(frames[2]);
    return typeof records === 'string' ? malformed(records) : { kind: 'replies', worker: frames[0], records };
  }
  const failed = frames.length === 6 && frames[4].equals(FAILURE_HEADER);
  if (frames.length !== 5 && !failed) return malformed(`worker message has ${frames.length} frames, expected 5`);
  const [worker, d1, client, d2] = frames;
  const body = frames[frames.length - 1];
  if (d1.length !== 0 || d2.length !== 0) return malformed('worker message lacks an empty delimiter');
  if (client.length > 0) return { kind: 'reply', worker, client, body, failed };
  if (failed) return malformed('a failure without a ticket');
  if (!isTsrControl(body)) return { kind: 'ready', worker, heartbeats: false, credit: 1, service: DEFAULT_SERVICE };
  if (body.equals(HEARTBEAT)) return { kind: 'heartbeat', worker };
  if (body.equals(GOODBYE)) return { kind: 'goodbye', worker };
  if (body.equals(BATCH_ACCEPT)) return { kind: 'batch-accept', worker };
  const ready = READY_OPTIONS.exec(body.toString('latin1'));
  const credit = Number(ready?.[1] ?? 1);
  const service = ready?.[2] ?? DEFAULT_SERVICE;
  if (ready && credit <= MAX_CREDIT && serviceNameProblem(service) === undefined) return { kind: 'ready', worker, heartbeats: true, credit, service };
  return malformed(`unknown command ${JSON.stringify(body.subarray(0, 40).toString('latin1'))}`);
}

/** A control body of our extension, as opposed to a seed peer's free text. */
export const isTsrControl = (body: Buffer): boolean => body.length >= TSR_PREFIX.length && TSR_PREFIX.equals(body.subarray(0, TSR_PREFIX.length));

/** Broker -> worker, on the backend ROUTER. */
export const toWorkerFrames = (worker: Buffer, client: Buffer, body: Buffer): Buffer[] => [worker, EMPTY, client, EMPTY, body];

/** Broker -> client, on the frontend ROUTER. */
export const toClientFrames = (client: Buffer, body: Buffer): Buffer[] => [client, EMPTY, body];

/**
 * A DEALER worker's control message (empty client frame), the REQ envelope written by hand:
 * `body` '' is the seed's ready; TSR/1 READY, HB and BYE travel the same way.
 */
export const workerControlFrames = (body: Buffer = EMPTY): Buffer[] => [EMPTY, EMPTY, EMPTY, body];

/** A DEALER worker's reply, in the same hand-written envelope. */
export const workerReplyFrames = (client: Buffer, body: Buffer): Buffer[] => [EMPTY, client, EMPTY, body];

/** Header of a worker's failure: its handler threw, and the next frame says why. */
export const FAILURE_HEADER = Buffer.from(`${PROTOCOL} ERR`);
/** Longest failure message a worker sends; the rest is cut. */
export const MAX_FAILURE_MESSAGE = 1024;

/** A DEALER worker's failure (only to a broker that showed it speaks TSR/1: a seed broker would take the message for the reply). */
export const workerFailureFrames = (client: Buffer, message: string): Buffer[] => [EMPTY, client, EMPTY, FAILURE_HEADER, failureMessage(message)];

/** A handler's failure message as a worker sends it, cut at MAX_FAILURE_MESSAGE. */
export const failureMessage = (message: string): Buffer =>
  Buffer.from(message.length > MAX_FAILURE_MESSAGE ? `${message.slice(0, MAX_FAILURE_MESSAGE - 1)}…` : message);

/** The service's answer: `<request> <worker id>` (the seed's `${mensaje} ${id}`). */
export const answerBody = (request: Buffer, workerSuffix: Buffer): Buffer => Buffer.concat([request, workerSuffix]);

/**
 * Whether `reply` answers `request` (starts with it, then a space): how a client tells its answer
 * from a stray one to an earlier request that reached the same connection.
 */
export const isAnswerTo = (request: Buffer, reply: Buffer): boolean =>
  reply.length > request.length && reply[request.length] === 0x20 && reply.subarray(0, request.length).equals(request);

/** Several requests in one message (a batch). */
export interface RequestBatch {
  kind: 'batch';
  records: BatchRecord[];
}

/**
 * What a DEALER worker receives: `['', clientId, '', request]`, a control message (heartbeat,
 * batch offer) with an empty clientId, or a batch `['TSR/1 REQS', records]`.
 */
export function parseWorkerRequest(frames: Frames): ClientRequest | RequestBatch | Malformed {
  if (frames.length === 2 && frames[0].equals(REQUESTS_HEADER)) {
    const records = unpackBatch(frames[1]);
    return typeof records === 'string' ? malformed(records) : { kind: 'batch', records };
  }
  if (frames.length !== 4) return malformed(`request to worker has ${frames.length} frames, expected 4`);
  const [d1, client, d2, body] = frames;
  if (d1.length !== 0 || d2.length !== 0) return malformed('request to worker lacks an empty delimiter');
  return { client, body };
}
