// Preloaded (`--require`) by the monitoring suite (see monitoring.ts). A message whose last frame
// ends with `BREAK LOOP` (the request, or a batch whose last record it is) breaks the loop that
// receives it: the programs' sockets (our ZMTP on Node's TCP, bundled) read Node sockets through
// `onread` (or 'data' events, where they cannot), so a read holding it arms a failure of the next
// performance.now(), which their message handlers call first thing.
'use strict';
const net = require('node:net');

const failure = () => new Error('injected socket failure');

let armed = false;
/** Runs `deliver` with the failure armed if `bytes` hold the marker. */
function watching(bytes, deliver) {
  if (bytes.includes('BREAK LOOP')) armed = true;
  try {
    return deliver();
  } finally {
    armed = false;
  }
}

const emit = net.Socket.prototype.emit;
net.Socket.prototype.emit = function (event, chunk, ...rest) {
  if (event !== 'data' || !Buffer.isBuffer(chunk)) return emit.call(this, event, chunk, ...rest);
  return watching(chunk, () => emit.call(this, event, chunk, ...rest));
};

// Sockets made with `onread` (the programs make theirs so): each read passes by the marker's check.
const Socket = net.Socket;
net.Socket = class extends Socket {
  constructor(options, ...rest) {
    const onread = options?.onread;
    if (onread)
      options = {
        ...options,
        onread: {
          buffer: onread.buffer,
          callback: (bytes, into) => watching(Buffer.from(into.buffer, into.byteOffset, bytes), () => onread.callback(bytes, into)),
        },
      };
    super(options, ...rest);
  }
};

const now = performance.now.bind(performance);
performance.now = () => {
  if (!armed) return now();
  armed = false;
  throw failure();
};
