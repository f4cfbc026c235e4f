// Preloaded with `node -r` by the monitoring suite (see monitoring.ts): zeromq stays external to
// the programs' bundles, so this patches the very module they load. A socket's receive() (what the
// receive loops await, and what its async iterator calls) fails on a message whose last frame ends
// with `BREAK LOOP` (the request, or a batch whose last record it is).
'use strict';
const zmq = require('zeromq');
for (const type of [zmq.Router, zmq.Dealer]) {
  const receive = type.prototype.receive; // the binding's, inherited and read-only: shadowed below
  Object.defineProperty(type.prototype, 'receive', {
    configurable: true,
    writable: true,
    value: async function () {
      const message = await receive.call(this);
      if (message[message.length - 1].toString('latin1').endsWith('BREAK LOOP')) throw new Error('injected socket failure');
      return message;
    },
  });
}
