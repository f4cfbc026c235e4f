// A worker whose handler checks deadlines itself: the built @tsr-broker/worker package
// (dist/libs/worker), in a process of its own.
// `node deadline-worker.js <host:port> <credit> <delay ms> <heartbeat ms> <liveness>`: answers
// `<request> <worker id>` after `delay` ms (stopped when the request's signal fires, as the echo
// worker does), and notes for each request its handler runs whether its deadline had passed when
// the handler started: by the worker's own view (`info.signal` already aborted at the deadline,
// `info.deadline` behind the clock), and by the client's (the epoch ms ending the request's body,
// see deadline-clients.js). Prints `W <id> connecting` at start, and at SIGTERM one JSON line of
// its counts and the library's (served, expired), then exits.
'use strict';
const { join } = require('node:path');
const { serve } = require(join(__dirname, '../../../../dist/libs/worker'));

const [broker, credit, delayMs, heartbeat, liveness] = process.argv.slice(2);
const identity = `W deadlines-${process.pid}`;
const counts = {
  identity,
  credit: Number(credit),
  /** Requests whose handler ran. */
  ran: 0,
  /** ... of which carried no deadline. */
  noDeadline: 0,
  /** ... whose signal was already aborted at its deadline when the handler started. */
  pastByWorker: 0,
  /** ... that started after the deadline their client set (the body's). */
  pastByClient: 0,
  /** ... of which carried no deadline. */
  pastByClientNoDeadline: 0,
  /** Each of those: how late (ms after the client's deadline), and the time the worker thought it had left (`info.timeoutMs`). */
  past: [],
  /** The least time left (`info.timeoutMs`) at the start of a handler. */
  leastLeftMs: Infinity,
  /** How much later than its client the worker took a deadline to be, at most: the request's time in transit, ms. */
  mostDriftMs: 0,
};

const suffix = ` ${identity}`;
const worker = serve({
  broker,
  credit: Number(credit),
  heartbeat: Number(heartbeat),
  liveness: Number(liveness),
  identity,
  handler: (request, info) => {
    const now = Date.now();
    const text = request.toString();
    counts.ran++;
    const clientDeadline = Number(text.slice(text.lastIndexOf('-') + 1));
    if (info.deadline === undefined) counts.noDeadline++;
    else {
      if (info.signal.aborted && info.signal.reason?.name === 'TimeoutError') counts.pastByWorker++;
      counts.leastLeftMs = Math.min(counts.leastLeftMs, info.timeoutMs);
      counts.mostDriftMs = Math.max(counts.mostDriftMs, info.deadline - clientDeadline);
    }
    if (now > clientDeadline) {
      counts.pastByClient++;
      if (info.deadline === undefined) counts.pastByClientNoDeadline++;
      counts.past.push({ lateMs: now - clientDeadline, leftMs: info.timeoutMs });
    }
    const { signal } = info;
    return new Promise((resolve, reject) => {
      const stop = () => (clearTimeout(timer), reject(signal.reason));
      const timer = setTimeout(() => (signal.removeEventListener('abort', stop), resolve(text + suffix)), Number(delayMs));
      signal.addEventListener('abort', stop, { once: true });
    });
  },
});

process.on('SIGTERM', () => {
  const { served, expired, failed } = worker;
  process.stdout.write(`${JSON.stringify({ ...counts, served, expired, failed })}\n`);
  void worker.close().then(() => process.exit(0));
});
process.stdout.write(`${identity} connecting\n`);
