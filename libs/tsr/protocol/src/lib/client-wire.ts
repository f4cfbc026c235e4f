/**
 * The conversation between clients and the broker's frontend, both sides (docs/protocol.md,
 * "Services"). A seed client sends one frame, its request, and is served by the default service:
 *
 *   client -> frontend   [clientId, '', request]
 *   frontend -> client   [clientId, '', reply]     (or a plain error answer, ./reasons.ts)
 *
 * A TSR/1
 * client names the service and tags the request with an id of its own; the broker answers with
 * the same id, so a client matches answers to requests by id, whatever the body says:
 *
 *   client -> frontend   [clientId, '', 'TSR/1 REQ', service, id, request]
 *                        [clientId, '', 'TSR/1 REQ', service, id, metadata, request]   (./metadata.ts)
 *   frontend -> client   [clientId, '', 'TSR/1 REP', id, reply]
 *                        [clientId, '', 'TSR/1 ERR', id, '<reason> <detail>']
 *
 * A client that asked the broker (`tsr.batch`) may send several requests for one service in one
 * message, and is answered in kind (records as in ./batch.ts; the request id in the ticket's place;
 * an error answer is a record of kind 1 whose body is '<reason> <detail>'):
 *
 *   client -> frontend   [clientId, '', 'TSR/1 REQS', service, records]
 *   frontend -> client   [clientId, '', 'TSR/1 REPS', records]
 *
 * Seed peers never see these frames: the broker answers in the form it was asked in.
 */
import { type BatchRecord, unpackBatch } from './batch';
import {
  EMPTY,
  ERROR_HEADER,
  type Frames,
  type Malformed,
  malformed,
  REPLIES_HEADER,
  REPLY_HEADER,
  REQUEST_HEADER,
  REQUESTS_HEADER,
} from './headers';
import { type CheckedMetadata, checkMetadata } from './metadata';
import { type ErrorReason, errorText } from './reasons';
import { DEFAULT_SERVICE, isServiceName } from './service-names';

/** What discovery reports for one service. */
export interface ServiceInfo {
  name: string;
  /** Workers registered for it. */
  workers: number;
  /** Of those, the ones holding no request. */
  ready: number;
  /** Of those, the ones holding at least one request. */
  busy: number;
  /** Requests waiting for a worker. */
  waiting: number;
}

/** Longest request id a client may choose. */
export const MAX_REQUEST_ID = 32;

/**
 * A request as the broker's frontend reads it. `id` is the client's tag for an envelope request,
 * undefined for a seed client's plain request (answered plain).
 */
export interface ServiceRequest {
  client: Buffer;
  service: string;
  id: Buffer | undefined;
  body: Buffer;
  /** Its metadata, checked, where it came with some (an envelope request of 7 frames, or a batch record of kind 2). */
  metadata?: CheckedMetadata;
}

/** An envelope request the broker can answer but not accept: answered `TSR/1 ERR bad-request`. */
export interface BadRequest {
  kind: 'bad-request';
  client: Buffer;
  id: Buffer;
  reason: string;
}

/** Several envelope requests for one service; `problem`: why the service cannot be served (each is answered bad-request). */
export interface ServiceBatch {
  kind: 'batch';
  client: Buffer;
  service: string;
  /** Each record's ticket is the request's id; `checked`: its metadata, checked. */
  records: (BatchRecord & { checked?: CheckedMetadata })[];
  problem?: string;
}

const invalidService = (service: string) => `invalid service name ${JSON.stringify(service.slice(0, 70))}`;
const badId = (id: Buffer): string | undefined =>
  id.length === 0 || id.length > MAX_REQUEST_ID ? `request id of ${id.length} bytes, expected 1-${MAX_REQUEST_ID}` : undefined;

/** `[clientId, '', 'TSR/1 REQS', service, records]`; a record of kind 1 or a bad id spoils the whole batch. */
function parseServiceBatch([client, delimiter, , serviceFrame, frame]: Frames): ServiceBatch | Malformed {
  if (delimiter.length !== 0) return malformed('client message lacks the empty delimiter');
  const records = unpackBatch(frame);
  if (typeof records === 'string') return malformed(records);
  for (const r of records as (BatchRecord & { checked?: CheckedMetadata })[]) {
    const problem = r.failed ? 'a batch of requests holds an answer' : badId(r.ticket);
    if (problem) return malformed(problem);
    if (!r.metadata) continue;
    const checked = checkMetadata(r.metadata);
    if (typeof checked === 'string') return malformed(checked);
    r.checked = checked;
  }
  const service = serviceFrame.toString('latin1');
  return { kind: 'batch', client, service, records, ...(isServiceName(service) ? {} : { problem: invalidService(service) }) };
}

/** Frontend input: a plain `[clientId, '', request]`, an envelope request, or a batch of them. */
export function parseServiceRequest(frames: Frames): ServiceRequest | BadRequest | ServiceBatch | Malformed {
  if (frames.length === 5 && frames[2].equals(REQUESTS_HEADER)) return parseServiceBatch(frames);
  if (frames.length === 3) {
    const [client, delimiter, body] = frames;
    if (delimiter.length !== 0) return malformed('client message lacks the empty delimiter');
    return { client, service: DEFAULT_SERVICE, id: undefined, body };
  }
  if (frames.length !== 6 && frames.length !== 7)
    return malformed(`client message has ${frames.length} frames, expected 3, 5 (a batch), 6 or 7`);
  const [client, delimiter, header, serviceFrame, id] = frames;
  const body = frames[frames.length - 1];
  if (delimiter.length !== 0) return malformed('client message lacks the empty delimiter');
  if (!header.equals(REQUEST_HEADER)) return malformed(`client message of ${frames.length} frames without ${REQUEST_HEADER}`);
  const idProblem = badId(id);
  if (idProblem) return malformed(idProblem);
  const service = serviceFrame.toString('latin1');
  if (!isServiceName(service)) return { kind: 'bad-request', client, id, reason: invalidService(service) };
  if (frames.length === 6) return { client, service, id, body };
  const metadata = checkMetadata(frames[5]);
  if (typeof metadata === 'string') return { kind: 'bad-request', client, id, reason: metadata };
  return { client, service, id, body, metadata };
}

/** Broker -> plain client, on the frontend ROUTER. */
export const toClientFrames = (client: Buffer, body: Buffer): Buffer[] => [client, EMPTY, body];

/** Broker -> envelope client: the reply to request `id`. */
export const envelopeReplyFrames = (client: Buffer, id: Buffer, body: Buffer): Buffer[] => [client, EMPTY, REPLY_HEADER, id, body];

/** Broker -> envelope client: request `id` was refused or failed. */
export const envelopeErrorFrames = (client: Buffer, id: Buffer, reason: ErrorReason, detail?: number | string): Buffer[] => [
  client,
  EMPTY,
  ERROR_HEADER,
  id,
  Buffer.from(errorText(reason, detail)),
];

/** Broker -> batching client: answers, records of kind 0 (a reply) or 1 (an error). */
export const clientBatchFrames = (client: Buffer, records: Buffer): Buffer[] => [client, EMPTY, REPLIES_HEADER, records];

/** A DEALER client's batch of requests for `service`. */
export const clientBatchRequestFrames = (service: Buffer, records: Buffer): Buffer[] => [EMPTY, REQUESTS_HEADER, service, records];

/** A DEALER client's envelope request (the REQ envelope written by hand: a leading ''), with its metadata frame where it has one. */
export const clientRequestFrames = (service: string, id: Buffer, body: Buffer, metadata?: Buffer): Buffer[] =>
  metadata
    ? [EMPTY, REQUEST_HEADER, Buffer.from(service, 'latin1'), id, metadata, body]
    : [EMPTY, REQUEST_HEADER, Buffer.from(service, 'latin1'), id, body];

/** What a DEALER client receives. `plain`: not an envelope answer (a seed broker forwarded a worker's reply). */
export type ClientAnswer =
  | { kind: 'reply'; id: Buffer; body: Buffer }
  | { kind: 'error'; id: Buffer; text: string }
  | { kind: 'plain'; body: Buffer }
  /** Answers in one message: each record's ticket is a request id; `failed`: an error, its body the error text. */
  | { kind: 'batch'; records: BatchRecord[] }
  | Malformed;

export function parseClientAnswer(frames: Frames): ClientAnswer {
  if (frames.length === 2 && frames[0].length === 0) return { kind: 'plain', body: frames[1] };
  if (frames.length === 3 && frames[0].length === 0 && frames[1].equals(REPLIES_HEADER)) {
    const records = unpackBatch(frames[2]);
    return typeof records === 'string' ? malformed(records) : { kind: 'batch', records };
  }
  if (frames.length !== 4 || frames[0].length !== 0) return malformed(`answer has ${frames.length} frames, expected 4`);
  const [, header, id, body] = frames;
  if (header.equals(REPLY_HEADER)) return { kind: 'reply', id, body };
  if (header.equals(ERROR_HEADER)) return { kind: 'error', id, text: body.toString('utf8') };
  return malformed('answer without a TSR/1 header');
}
