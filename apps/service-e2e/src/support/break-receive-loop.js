// Preloaded (`--require`) by the monitoring suite (see monitoring.ts). A message whose last frame
// ends with `BREAK LOOP` (the request, or a batch whose last record it is) breaks the loop that
// receives it: the programs' sockets (our ZMTP on Node's TCP, bundled) read Node sockets, so a
// 'data' chunk holding it arms a failure of the next performance.now(), which their message
// handlers call first thing.
'use strict';
const net = require('node:net');

const failure = () => new Error('injected socket failure');

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
