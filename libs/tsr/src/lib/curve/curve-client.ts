import type { Event, Socket } from 'zeromq';
import type { CurvePeerKeys } from './curve-options';

/** Options of a CURVE client socket (spread into the socket's constructor options); none when CURVE is off. */
export const curveClientSocketOptions = (keys: CurvePeerKeys | undefined) =>
  keys ? { curveServerKey: keys.serverKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey } : {};

/**
 * Calls `refused` when the server refuses this socket's key (ZAP status 400). libzmq then gives up
 * that connection for good (an authentication failure is not retried), so a peer that wants to be
 * admitted once its key is listed must open a new socket. Nothing to watch when CURVE is off.
 */
export function onKeyRefused(socket: Socket, keys: CurvePeerKeys | undefined, refused: () => void): void {
  if (keys) onSocketEvents(socket, (e) => e.type === 'handshake:error:auth' && refused());
}

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
