import type { Event, Socket } from 'zeromq';
import type { CurvePeerKeys } from '../curve/curve-options';

// Test helpers for libzmq's own sockets (the `zeromq` dev dependency), the foreign peers of this
// library's specs; the e2e suites and the benchmark have the same in @tsr/testing.

/** Options of a libzmq CURVE client socket (spread into its constructor options; foreign peers in tests); none when CURVE is off. */
export const curveClientSocketOptions = (keys: CurvePeerKeys | undefined) =>
  keys ? { curveServerKey: keys.serverKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey } : {};

/**
 * Calls `handle` with each event of the socket's monitor until the socket closes. It reads them
 * with `receive()`, not zeromq's emitter mode (`events.on`), whose reading loop has no catch.
 */
export function onSocketEvents(socket: Socket, handle: (event: Event) => void): void {
  const events = socket.events;
  void (async () => {
    while (!events.closed) {
      let event: Event;
      try {
        event = await events.receive();
      } catch {
        return; // the socket, and with it its monitor, closed
      }
      handle(event);
    }
  })();
}
