/**
 * The two baselines the broker is measured against, each run as its own Node process:
 *
 *   forwarder FRONTPORT BACKPORT [--lru]
 *     (b) the floor of any broker in Node: a ROUTER frontend and a ROUTER backend speaking our wire
 *     protocol (docs/protocol.md), so our worker and client work against it unchanged. The only state is the
 *     list of workers that said "ready"; requests go to them round-robin as they arrive (our worker
 *     queues what it cannot serve yet) and replies go straight back. No validation, no deadlines,
 *     no statistics, no tracing. `--lru` is a diagnostic variant that keeps the broker's dispatch
 *     rule (one request per worker, a FIFO of free workers and a FIFO of waiting requests) with
 *     nothing else, to tell the cost of that rule from the cost of our code.
 *
 *   direct PORT
 *     (a) no broker at all: one ROUTER that answers `[client, '', request]` with
 *     `[client, '', "<request> X"]` at once, exactly what a zero-delay worker would send back.
 *
 *   nats-responder PORT ID [--tls-ca FILE]
 *     what a user of NATS would write instead of our worker: a nats.js connection to the
 *     nats-server on PORT, subscribed in a queue group (the server spreads requests over the
 *     group's members) and answering each request with `<request> <ID>` at once, as our
 *     zero-delay worker does; with --tls-ca, over TLS, trusting the server's certificate in FILE.
 *
 * Each prints `[<name>] ready` once bound (subscribed), and exits on SIGTERM/SIGINT.
 */
import { createTracer, exitOnSignals as closeOnSignals, receiveLoop } from '@tsr/runtime';
import { connect } from 'nats';
import { Router } from 'zeromq';
import { natsConnectOptions } from './nats-connection';
import { NATS_QUEUE, NATS_SUBJECT } from './nats-subject';

const EMPTY = Buffer.alloc(0);
const SUFFIX = Buffer.from(' X');

const endpoint = (port: string) => `tcp://127.0.0.1:${Number(port)}`;

/** The library's orderly shutdown (sockets closed, exit 0 on SIGINT/SIGTERM), silent. */
const exitOnSignals = (sockets: Router[]) => closeOnSignals(sockets, createTracer('baseline', 'silent'));

const fail = (e: Error) => process.stderr.write(`send failed: ${e.message}\n`);
/** The runtime's receive loop for libzmq sockets (the cheapest the binding allows); a failed loop ends the baseline. */
const failLoop = (e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
};

async function forwarder(frontPort: string, backPort: string, lru: boolean): Promise<void> {
  const frontend = new Router({ sendTimeout: 0, linger: 0 });
  const backend = new Router({ sendTimeout: 0, linger: 0 });
  exitOnSignals([frontend, backend]);
  await frontend.bind(endpoint(frontPort));
  await backend.bind(endpoint(backPort));

  const workers: Buffer[] = []; // round-robin: everyone who said ready; lru: the free ones, oldest first
  const waiting: Buffer[][] = []; // requests with no worker to take them (lru always; rr only before the first ready)
  let next = 0;

  const toWorker = (worker: Buffer, req: Buffer[]) => void backend.send([worker, EMPTY, req[0], EMPTY, req[2]]).catch(fail);

  void receiveLoop(
    'frontend',
    frontend,
    (req) => {
      if (workers.length === 0) waiting.push(req);
      else if (lru) toWorker(workers.shift() as Buffer, req);
      else toWorker(workers[next++ % workers.length], req);
    },
    failLoop,
  );

  void receiveLoop(
    'backend',
    backend,
    ([worker, , client, , body]) => {
      if (client.length !== 0) void frontend.send([client, EMPTY, body]).catch(fail); // a reply
      if (lru) {
        // ready or reply: the worker is free
        const req = waiting.shift();
        if (req) toWorker(worker, req);
        else workers.push(worker);
      } else if (client.length === 0) {
        workers.push(worker); // ready
        while (waiting.length) toWorker(workers[next++ % workers.length], waiting.shift() as Buffer[]);
      }
    },
    failLoop,
  );
  process.stdout.write(`[forwarder] ready ${lru ? 'lru' : 'round-robin'}\n`);
}

async function direct(port: string): Promise<void> {
  const socket = new Router({ sendTimeout: 0, linger: 0 });
  exitOnSignals([socket]);
  await socket.bind(endpoint(port));
  void receiveLoop(
    'direct',
    socket,
    ([client, , request]) => void socket.send([client, EMPTY, Buffer.concat([request, SUFFIX])]).catch(fail),
    failLoop,
  );
  process.stdout.write('[direct] ready\n');
}

async function natsResponder(port: string, id: string, caFile: string | undefined): Promise<void> {
  const nc = await connect(natsConnectOptions(Number(port), caFile));
  const suffix = Buffer.from(` ${id}`);
  nc.subscribe(NATS_SUBJECT, { queue: NATS_QUEUE, callback: (_e, msg) => msg.respond(Buffer.concat([msg.data, suffix])) });
  await nc.flush();
  const stop = () => void nc.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  process.stdout.write('[nats-responder] ready\n');
}

const [mode, ...args] = process.argv.slice(2);
/** The value after `flag`, if it is there. */
const valueOf = (flag: string): string | undefined => (args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined);
const modes: Record<string, () => Promise<void>> = {
  forwarder: () => forwarder(args[0], args[1], args.includes('--lru')),
  direct: () => direct(args[0]),
  'nats-responder': () => natsResponder(args[0], args[1], valueOf('--tls-ca')),
};
const started =
  modes[mode]?.() ??
  Promise.reject(
    new Error('usage: baselines.ts forwarder FRONTPORT BACKPORT [--lru] | direct PORT | nats-responder PORT ID [--tls-ca FILE]'),
  );
started.catch((e: Error) => {
  process.stderr.write(`${e.message}\n`);
  process.exit(1);
});
