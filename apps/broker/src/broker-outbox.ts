import {
  type BatchRecord,
  EMPTY,
  type ErrorReason,
  HEARTBEAT,
  batchable,
  clientBatchFrames,
  envelopeErrorFrames,
  envelopeReplyFrames,
  errorBody,
  errorText,
  packBatches,
  toClientFrames,
  toWorkerBatchFrames,
  toWorkerFrames,
} from '@tsr/protocol';
import { Coalescer } from '@tsr/runtime';
import { recycleFrame } from '@tsr/zmtp';

/** Where the outbox writes: a ROUTER socket's send. */
export interface Sender {
  send(frames: Buffer[]): void;
}

/**
 * How what the broker core emits goes on the wire: in the shape each peer asked for, and in as
 * few writes as a turn of the event loop allows.
 *
 * - A worker that accepted batches on its current connection gets the requests of one turn as one
 *   batch at the turn's end; any other worker gets each request in the seed's frames.
 * - A client that sent a batch gets its answers of one turn as one batch; other answers and
 *   refusals leave per client at the turn's end, in the order they came, in the shape of the
 *   request (envelope or plain).
 * - Workers' routing ids are kept as received (a memo by latin1 key), so a dispatch does not
 *   convert the key back on every request; `forgetWorker` and `sweep` keep it to live workers.
 * - A reply's body, once sent to its client, is given back to the sockets' pool if it is a large
 *   frame the backend read into it (`recycleFrame`): nothing reads it after that.
 */
export class BrokerOutbox {
  private readonly routingIds = new Map<string, Buffer>();
  private readonly batchingWorkers = new Set<string>();
  /** Workers that accepted metadata (`TSR/1 META`) on their current connection. */
  private readonly metadataWorkers = new Set<string>();
  /**
   * TSR/1 workers whose ready came and whose answer to the metadata offer has not, with the sends
   * held for them meanwhile (in order) and when that began (see `negotiate`).
   */
  private readonly negotiating = new Map<string, { since: number; held: (() => void)[] }>();
  private readonly workerBatches: Coalescer<string, BatchRecord>;
  /**
   * The ids of requests that came in a client's batch. A WeakSet: the core keeps each id as long
   * as its request and hands the same Buffer back with the answer, so nothing here outlives it.
   */
  private readonly batchedIds = new WeakSet<Buffer>();
  private readonly clientBatches: Coalescer<string, BatchRecord>;
  private readonly clientMessages: Coalescer<string, Buffer[]>;

  constructor(
    private readonly frontend: Sender,
    private readonly backend: Sender,
    /** A write that threw at the end of a turn: the broker can no longer keep its promises. */
    onFatal: (error: Error) => void,
  ) {
    this.workerBatches = new Coalescer((worker, records) => this.sendWorkerBatch(worker, records), onFatal);
    this.clientBatches = new Coalescer((client, records) => this.sendClientBatch(client, records), onFatal);
    this.clientMessages = new Coalescer((_client, messages) => messages.forEach((frames) => this.sendToClient(frames)), onFatal);
  }

  /** A worker was admitted on a new connection (`routingId`: its id as received). */
  workerAdmitted(worker: string, routingId: Buffer): void {
    this.routingIds.set(worker, routingId);
  }

  /** The worker accepted batches on its current connection. */
  acceptBatches(worker: string): void {
    this.batchingWorkers.add(worker);
  }

  /** The worker accepted metadata on its current connection. */
  acceptMetadata(worker: string): void {
    this.metadataWorkers.add(worker);
  }

  /** Whether requests may go to `worker` with their metadata. */
  takesMetadata(worker: string): boolean {
    return this.metadataWorkers.has(worker);
  }

  /**
   * A TSR/1 worker's ready came (at `now`): until it answers the offers, what is dispatched to it
   * waits here, so that the requests a queue hands it at once go with their metadata when it takes
   * metadata (its `TSR/1 META` comes before its `TSR/1 BATCH`: the offers go in that order). See
   * `settle`.
   */
  negotiate(worker: string, now: number): void {
    this.negotiating.set(worker, { since: now, held: [] });
  }

  /**
   * Whether a request for `worker` waits for its answer to the offers: one with metadata (`hasMetadata`)
   * while it negotiates, and any after one that waits (they keep their order). A request without
   * metadata has nothing to wait for: it goes at once, so a worker that answers no offer is served
   * as before.
   */
  mustHold(worker: string, hasMetadata: boolean): boolean {
    if (this.negotiating.size === 0) return false;
    const negotiation = this.negotiating.get(worker);
    return negotiation !== undefined && (hasMetadata || negotiation.held.length > 0);
  }

  /** Sends `send` once `worker`'s negotiation is settled (`mustHold` said so). */
  hold(worker: string, send: () => void): void {
    this.negotiating.get(worker)?.held.push(send);
  }

  /**
   * The worker answered (metadata accepted, or batches accepted without it: a worker that predates
   * metadata), or it was given long enough: what was held for it goes, in order.
   */
  settle(worker: string): void {
    const negotiation = this.negotiating.get(worker);
    if (!negotiation) return;
    this.negotiating.delete(worker);
    for (const send of negotiation.held) send();
  }

  /** Settles every negotiation that began before `before` (a worker that answers no offer at all). */
  settleOlder(before: number): void {
    for (const [worker, { since }] of this.negotiating) if (since < before) this.settle(worker);
  }

  /** A worker's connection is over (failed, gone, or replaced): its routing id, batching, metadata and unsent batch go. */
  forgetWorker(worker: string): void {
    this.routingIds.delete(worker);
    this.batchingWorkers.delete(worker);
    this.metadataWorkers.delete(worker);
    this.negotiating.delete(worker); // what it held was the core's to move on
    this.workerBatches.discard(worker);
  }

  /** Forgets every worker that `isWorker` no longer knows (the memo stays within the live workers). */
  sweep(isWorker: (worker: string) => boolean): void {
    for (const worker of this.routingIds.keys()) if (!isWorker(worker)) this.forgetWorker(worker);
  }

  /** A request for `worker`; `metadata` only for one that takes it (`takesMetadata`). */
  request(worker: string, ticket: Buffer, body: Buffer, metadata?: Buffer): void {
    if (this.batchingWorkers.has(worker)) {
      const record: BatchRecord = metadata ? { ticket, body, failed: false, metadata } : { ticket, body, failed: false };
      if (this.coalesce(this.workerBatches, worker, record)) return;
    }
    this.backend.send(toWorkerFrames(this.routingId(worker), ticket, body, metadata));
  }

  /**
   * A control message to a worker (empty ticket): a heartbeat, or `body`. The requests of this turn
   * still waiting for its batch go first: a credit acknowledgement must follow what came before it.
   */
  control(worker: string, body: Buffer = HEARTBEAT): void {
    this.workerBatches.flushNow(worker);
    this.backend.send(toWorkerFrames(this.routingId(worker), EMPTY, body));
  }

  /** `id` came in a client's batch: its answer goes back in one. */
  answerInBatch(id: Buffer): void {
    this.batchedIds.add(id);
  }

  reply(client: Buffer, id: Buffer | undefined, body: Buffer): void {
    if (id && this.batchedIds.has(id) && this.coalesce(this.clientBatches, client.toString('latin1'), { ticket: id, body, failed: false }))
      return;
    this.clientMessages.add(client.toString('latin1'), id ? envelopeReplyFrames(client, id, body) : toClientFrames(client, body));
  }

  refuse(client: Buffer, id: Buffer | undefined, reason: ErrorReason, detail?: number | string): void {
    // The record is made only for an answer that goes in a batch: a plain refusal never needs it.
    if (id && this.batchedIds.has(id)) {
      const record = { ticket: id, body: Buffer.from(errorText(reason, detail)), failed: true };
      if (this.coalesce(this.clientBatches, client.toString('latin1'), record)) return;
    }
    this.clientMessages.add(
      client.toString('latin1'),
      id ? envelopeErrorFrames(client, id, reason, detail) : toClientFrames(client, errorBody(reason, detail)),
    );
  }

  /** Whether `record` waits in `batches` for the end of the turn (it fits a batch); otherwise it goes alone. */
  private coalesce(batches: Coalescer<string, BatchRecord>, key: string, record: BatchRecord): boolean {
    if (!batchable(record, Infinity)) return false;
    batches.add(key, record);
    return true;
  }

  private sendWorkerBatch(worker: string, records: BatchRecord[]): void {
    const id = this.routingId(worker);
    for (const frame of packBatches(records, Infinity)) this.backend.send(toWorkerBatchFrames(id, frame));
  }

  private sendClientBatch(client: string, records: BatchRecord[]): void {
    const id = Buffer.from(client, 'latin1');
    for (const frame of packBatches(records, Infinity)) this.frontend.send(clientBatchFrames(id, frame));
    for (const record of records) recycleFrame(record.body);
  }

  /** A reply or refusal on its way: the send encodes its frames, so a reply's body may be given back at once. */
  private sendToClient(frames: Buffer[]): void {
    this.frontend.send(frames);
    recycleFrame(frames[frames.length - 1]);
  }

  private routingId(worker: string): Buffer {
    return this.routingIds.get(worker) ?? Buffer.from(worker, 'latin1');
  }
}
