// Preloaded with `node -r` by the monitoring suite (see monitoring.ts): zeromq stays external to
// the programs' bundles, so this patches the very module they load. The sockets' async iterator
// (what the receive loops run on) fails on a message whose last frame is `BREAK LOOP`.
'use strict';
const zmq = require('zeromq');

for (const type of [zmq.Router, zmq.Dealer]) {
  const iterate = type.prototype[Symbol.asyncIterator];
  type.prototype[Symbol.asyncIterator] = function () {
    const messages = iterate.call(this);
    return {
      async next() {
        const next = await messages.next();
        if (!next.done && next.value[next.value.length - 1].toString() === 'BREAK LOOP') throw new Error('injected socket failure');
        return next;
      },
    };
  };
}
