// Preloaded with `node -r` by the monitoring suite (see monitoring.ts). A message whose last frame
// ends with `BREAK LOOP` (the request, or a batch whose last record it is) breaks the loop that
// receives it:
// - zeromq stays external to the programs' bundles, so its sockets are patched in the very module
//   they load: receive() (what the receive loops await) fails on such a message;
// - the broker's own ROUTER (plain TCP, bundled) reads Node sockets: a 'data' chunk holding it arms
//   a failure of the next performance.now(), which its message handler calls first thing.
'use strict';
const zmq = require('zeromq');
const net = require('node:net');

const failure = () => new Error('injected socket failure');
for (const type of [zmq.Router, zmq.Dealer]) {
  const receive = type.prototype.receive; // the binding's, inherited and read-only: shadowed below
  Object.defineProperty(type.prototype, 'receive', {
    configurable: true,
    writable: true,
    value: async function () {
      const message = await receive.call(this);
      if (message[message.length - 1].toString('latin1').endsWith('BREAK LOOP')) throw failure();
      return message;
    },
  });
}

let armed = false;
const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, chunk, ...rest) {
  if (event === 'data' && Buffer.isBuffer(chunk) && chunk.includes('BREAK LOOP')) armed = true;
  try {
    return emit.call(this, event, chunk, ...rest);
  } finally {
    armed = false;
  }
};
const now = performance.now.bind(performance);
performance.now = () => {
  if (!armed) return now();
  armed = false;
  throw failure();
};
