/**
 * The wire protocol (SPEC §1), byte-compatible with the seed's REQ clients and workers.
 * Frames as the broker's ROUTER sockets see them ('' is an empty delimiter frame):
 *   client -> frontend   [clientId, '', request]
 *   frontend -> client   [clientId, '', reply]
 *   broker -> worker     [workerId, '', clientId, '', request]
 *   worker -> broker     [workerId, '', clientId, '', reply]      (reply)
 *                        [workerId, '', '', '', readyBody]        (ready; the seed's readyBody is '')
 * A worker on a DEALER socket writes the REQ envelope itself: a leading '' frame.
 */

export const EMPTY = Buffer.alloc(0);

export type Frames = readonly Buffer[];

export interface ClientRequest {
  client: Buffer;
  body: Buffer;
}

export type WorkerMessage =
  | { kind: 'ready'; worker: Buffer; body: Buffer }
  | { kind: 'reply'; worker: Buffer; client: Buffer; body: Buffer };

/** A message that breaks the protocol, with the reason for the trace. */
export interface Malformed {
  kind: 'malformed';
  reason: string;
}

const malformed = (reason: string): Malformed => ({ kind: 'malformed', reason });

/** Frontend input: exactly `[clientId, '', request]`. */
export function parseClientRequest(frames: Frames): ClientRequest | Malformed {
  if (frames.length !== 3) return malformed(`client message has ${frames.length} frames, expected 3`);
  const [client, delimiter, body] = frames;
  if (delimiter.length !== 0) return malformed('client message lacks the empty delimiter');
  return { client, body };
}

/** Backend input: exactly `[workerId, '', clientId, '', body]`; an empty clientId means "ready". */
export function parseWorkerMessage(frames: Frames): WorkerMessage | Malformed {
  if (frames.length !== 5) return malformed(`worker message has ${frames.length} frames, expected 5`);
  const [worker, d1, client, d2, body] = frames;
  if (d1.length !== 0 || d2.length !== 0) return malformed('worker message lacks an empty delimiter');
  return client.length === 0 ? { kind: 'ready', worker, body } : { kind: 'reply', worker, client, body };
}

/** Broker -> worker, on the backend ROUTER. */
export const toWorkerFrames = (worker: Buffer, client: Buffer, body: Buffer): Buffer[] => [worker, EMPTY, client, EMPTY, body];

/** Broker -> client, on the frontend ROUTER. */
export const toClientFrames = (client: Buffer, body: Buffer): Buffer[] => [client, EMPTY, body];

/** What a DEALER worker sends: the REQ envelope written by hand. `body` '' is the seed's ready. */
export const workerReadyFrames = (body: Buffer = EMPTY): Buffer[] => [EMPTY, EMPTY, EMPTY, body];
export const workerReplyFrames = (client: Buffer, body: Buffer): Buffer[] => [EMPTY, client, EMPTY, body];

/** What a DEALER worker receives: `['', clientId, '', request]`. */
export function parseWorkerRequest(frames: Frames): ClientRequest | Malformed {
  if (frames.length !== 4) return malformed(`request to worker has ${frames.length} frames, expected 4`);
  const [d1, client, d2, body] = frames;
  if (d1.length !== 0 || d2.length !== 0) return malformed('request to worker lacks an empty delimiter');
  return { client, body };
}
