/**
 * The benchmark's load generator, run as its own Node process (several may run at once).
 *
 *   loadgen.ts --port P[,P2…] --size BYTES --sockets S (--inflight C | --rate R)
 *              --start-at EPOCH_MS --warmup MS --duration MS [--nats [--nats-tls-ca FILE] | --batch]
 *
 * With several ports (several brokers), socket i connects to the port i mod their number: the
 * requesters, and the requests, split evenly over them.
 *
 * It speaks the client side of our protocol through DEALER sockets: it sends ['', request] (what a
 * REQ client puts on the wire) and reads ['', reply]. Unlike a REQ socket a DEALER may have many
 * requests in flight, which keeps the generator cheap enough not to be the bottleneck.
 *
 * With --batch it behaves as our client library: its socket (our own DEALER on Node's TCP, with
 * CURVE too), and it asks the broker whether it takes batches (docs/protocol.md "Batches") and, if
 * it does, sends what each socket has to send in one turn of the event loop as one batch; a broker
 * that does not answer within 500 ms gets the plain frames.
 *
 * With --nats it does NATS request-reply instead, on S connections of the nats client: each request
 * is published to the responders' subject with the connection's inbox as its reply subject (what
 * `request()` puts on the wire), and replies arrive through one subscription callback per
 * connection; no per-request promise, timer or lookup, the same economy as the DEALER sockets.
 * With --nats-tls-ca it connects with TLS, trusting the server's certificate in FILE.
 *
 * Each request carries its send time (float64, performance.now()) and a sequence number in its
 * first 12 bytes, padded to BYTES; the reply starts with the request, so latency needs no lookup.
 *
 * Closed loop (--inflight C): C requests in flight over S sockets, a new one as soon as one returns.
 * Open loop (--rate R): R requests per second whatever the replies do, sent from a 1 ms timer.
 *
 * Every generator waits for the common wall-clock start (--start-at), sends for warmup + duration,
 * and counts only the replies that arrive inside the measured window. Then it waits for the
 * requests still in flight (at most 3 s), prints one JSON line and exits.
 */
import {
  BATCH_PROBE_SERVICE,
  type BatchRecord,
  clientBatchRequestFrames,
  clientRequestFrames,
  packBatches,
  parseBatchOffer,
  parseClientAnswer,
} from '@tsr/protocol';
import { CLIENT_SEND_HIGH_WATER_BYTES, Coalescer, newKeyPair, openDealerPort, receiveLoop } from '@tsr/runtime';
import { curveClientSocketOptions } from '@tsr/testing';
import { connect } from 'nats';
import { Dealer } from 'zeromq';
import { natsConnectOptions } from './nats-connection';
import { NATS_SUBJECT } from './nats-subject';

const EMPTY = Buffer.alloc(0);
const HEADER = 12;

/** The one JSON line the generator prints when it is done. */
export interface GeneratorResult {
  /** Replies inside the measured window, and per second of it. */
  answered: number;
  requestsPerSecond: number;
  /** Answers in the window's first half and in its second. */
  halves: [number, number];
  errors: number;
  /** Requests still in flight when the generator gave up waiting. */
  unanswered: number;
  /** A sample of the worker ids that answered, with counts. */
  workers: Record<string, number>;
  /** Latency of each reply in the window, µs. */
  latUs: number[];
}

function flags(argv: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) if (argv[i].startsWith('--')) m.set(argv[i].slice(2), argv[i + 1] ?? '');
  return m;
}

const f = flags(process.argv.slice(2));
const num = (name: string, dflt?: number): number => {
  const v = f.has(name) ? Number(f.get(name)) : dflt;
  if (v === undefined || !Number.isFinite(v)) throw new Error(`--${name} needs a number`);
  return v;
};
const host = '127.0.0.1';
const ports = (f.get('port') ?? '').split(',').map(Number);
if (!ports.every((p) => Number.isInteger(p) && p > 0)) throw new Error('--port needs a port, or several separated by commas');
/** The port of the i-th socket (or connection). */
const portOf = (i: number): number => ports[i % ports.length];
const size = Math.max(HEADER, num('size'));
const socketCount = Math.max(1, num('sockets', 4));
const inflight = f.has('inflight') ? num('inflight') : 0;
const rate = f.has('rate') ? num('rate') : 0;
const warmup = num('warmup', 500);
const duration = num('duration', 2000);
const startAt = num('start-at', Date.now() + 300);
const nats = f.has('nats');
/** The certificate a nats-server with TLS presents: its connections trust it (nats-connection.ts). */
const natsTlsCa = f.get('nats-tls-ca') || undefined;
const batch = f.has('batch');
if (inflight > 0 === rate > 0) throw new Error('give exactly one of --inflight and --rate');

/** One requester connection: a DEALER socket or a NATS connection. */
interface Channel {
  send(body: Buffer): void;
  close(): void;
}

// CURVE_SERVER_KEY: the target is a broker with CURVE on; each socket brings a fresh key pair, as our client does.
const serverKey = process.env['CURVE_SERVER_KEY'];

const dealer = (port: number): Dealer => {
  const socket = new Dealer({
    linger: 0,
    sendTimeout: 0,
    ...curveClientSocketOptions(serverKey ? { serverKey, ...newKeyPair() } : undefined),
  });
  socket.connect(`tcp://${host}:${port}`);
  return socket;
};
const loopFailed = (e: Error) => {
  process.stderr.write(`loadgen: ${e.message}\n`);
  process.exit(1);
};

/** A DEALER socket whose replies go to `onReply` (its last frame). */
function zmqChannel(port: number): Channel {
  const socket = dealer(port);
  const channel: Channel = {
    send: (body) => void socket.send([EMPTY, body]).catch(onSendError),
    close: () => socket.close(),
  };
  void receiveLoop('loadgen', socket, (frames) => onReply(channel, frames[frames.length - 1]), loopFailed);
  return channel;
}

const SERVICE = Buffer.from('default');
const REQUEST_ID = Buffer.from('g'); // replies are matched by their body, as in the plain frames

/**
 * The client library's way: its DEALER (ours on Node's TCP, with CURVE too), batches when the
 * broker offers them (else the plain frames): the largest batch frame, or undefined, once the
 * broker answered the question or 500 ms passed. A send the connection refuses (past the client's
 * high-water mark: large requests, many in flight) goes again 1 ms later, as a client waiting for
 * it to drain would send it, rather than being lost (our client library sends it again at its timeout).
 */
async function batchChannel(port: number): Promise<Channel> {
  const batches: { max?: number } = {};
  let offered: (max: number | undefined) => void = () => undefined;
  const offer = new Promise<number | undefined>((resolve) => (offered = resolve));
  const channel: Channel = {
    send: (body) => (batches.max === undefined ? sendOrRetry([EMPTY, body]) : outbox.add(0, { ticket: REQUEST_ID, body, failed: false })),
    close: () => socket.close(),
  };
  const socket = openDealerPort(`tcp://${host}:${port}`, {
    name: 'loadgen',
    reconnectIntervalMs: 100,
    reconnectMaxIntervalMs: 0,
    sendHighWaterBytes: CLIENT_SEND_HIGH_WATER_BYTES,
    curve: serverKey ? { serverKey, ...newKeyPair() } : undefined,
    onMessage: (frames) => {
      const answer = parseClientAnswer(frames);
      if (answer.kind === 'batch') for (const r of answer.records) onReply(channel, r.body);
      // the answer to the question: an offer, or (a broker that knows no batches) no-service after its grace
      else if ((answer.kind === 'reply' || answer.kind === 'error') && answer.id.equals(PROBE_ID))
        offered(answer.kind === 'reply' ? parseBatchOffer(answer.body) : undefined);
      else onReply(channel, frames[frames.length - 1]);
    },
    onFatal: loopFailed,
    onSendError: () => (refused = true),
  });
  let refused = false;
  const sendOrRetry = (frames: Buffer[]): void => {
    refused = false;
    socket.send(frames);
    if (refused) setTimeout(() => sendOrRetry(frames), 1);
  };
  const outbox = new Coalescer<number, BatchRecord>((_, records) => {
    for (const frame of packBatches(records, batches.max ?? 0)) sendOrRetry(clientBatchRequestFrames(SERVICE, frame));
  }, loopFailed);
  sendOrRetry(clientRequestFrames(BATCH_PROBE_SERVICE, PROBE_ID, EMPTY));
  batches.max = await Promise.race([offer, new Promise<undefined>((r) => setTimeout(() => r(undefined), 500))]);
  return channel;
}
const PROBE_ID = Buffer.from('probe');

/** A NATS connection with one inbox subscription for all its requests' replies. */
async function natsChannel(port: number): Promise<Channel> {
  const nc = await connect({ ...natsConnectOptions(port, natsTlsCa), noEcho: true });
  const inbox = `_INBOX.${nc.info?.client_id ?? 0}.${Math.random().toString(36).slice(2)}`;
  const channel: Channel = {
    send: (body) => nc.publish(NATS_SUBJECT, body, { reply: inbox }),
    close: () => void nc.close(),
  };
  nc.subscribe(inbox, { callback: (_e, msg) => onReply(channel, Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength)) });
  await nc.flush(); // the subscription is in place before the first request
  return channel;
}

const channels: Channel[] = [];

const t0 = performance.now() + (startAt - Date.now()); // the common start, on this process's clock
const tA = t0 + warmup; // measured window [tA, tB)
const tB = tA + duration;
const template = Buffer.alloc(size, 0x78); // 'x'
let seq = 0;
let sent = 0;
let outstanding = 0;
/** Failed sends, and replies that are not an echo of their request. */
let errors = 0;
let answered = 0;
/** Answers in the first and second half of the window: a window still ramping up shows in their ratio. */
const halves: [number, number] = [0, 0];
const latUs: number[] = [];
const workers: Record<string, number> = {};

const onSendError = () => {
  errors++;
  outstanding--;
};

function send(channel: Channel, now: number): void {
  const body = Buffer.allocUnsafe(size);
  template.copy(body, HEADER, HEADER);
  body.writeDoubleLE(now, 0);
  body.writeUInt32LE(seq++ >>> 0, 8);
  sent++;
  outstanding++;
  channel.send(body);
}

let finish: () => void = () => {};
const finished = new Promise<void>((resolve) => (finish = resolve));

function onReply(channel: Channel, reply: Buffer): void {
  const now = performance.now();
  outstanding--;
  if (reply.length < size) {
    errors++;
    return;
  }
  if (now >= tA && now < tB) {
    answered++;
    halves[now < tA + duration / 2 ? 0 : 1]++;
    latUs.push(Math.round((now - reply.readDoubleLE(0)) * 1000));
    // a sample of who answered; a prime stride, so round robin over a few workers cannot alias it
    if (answered % 17 === 0) {
      const id = reply.toString('latin1', size + 1);
      workers[id] = (workers[id] ?? 0) + 1;
    }
  }
  if (inflight > 0 && now < tB) send(channel, now);
  if (now >= tB && outstanding <= 0) finish();
}

function startClosed(): void {
  const now = performance.now();
  for (let i = 0; i < inflight; i++) send(channels[i % socketCount], now);
}

function startOpen(): void {
  const tick = () => {
    const now = performance.now();
    if (now >= tB) return;
    const due = Math.floor(((now - t0) * rate) / 1000);
    while (sent < due) send(channels[sent % socketCount], now);
    setTimeout(tick, 1);
  };
  tick();
}

async function main(): Promise<void> {
  for (let i = 0; i < socketCount; i++)
    channels.push(nats ? await natsChannel(portOf(i)) : batch ? await batchChannel(portOf(i)) : zmqChannel(portOf(i)));
  await new Promise((r) => setTimeout(r, Math.max(0, t0 - performance.now())));
  if (inflight > 0) startClosed();
  else startOpen();
  await new Promise((r) => setTimeout(r, Math.max(0, tB - performance.now())));
  if (outstanding > 0) await Promise.race([finished, new Promise((r) => setTimeout(r, 3000))]);
  const result: GeneratorResult = {
    answered,
    halves,
    requestsPerSecond: answered / (duration / 1000),
    errors,
    unanswered: Math.max(0, outstanding),
    workers,
    latUs,
  };
  for (const c of channels) c.close();
  process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
}

process.once('SIGTERM', () => process.exit(1));
process.once('SIGINT', () => process.exit(1));
main().catch((e: Error) => {
  process.stderr.write(`loadgen: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
