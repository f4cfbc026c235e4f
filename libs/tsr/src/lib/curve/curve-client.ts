import type { Socket } from 'zeromq';
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
  if (keys) socket.events.on('handshake:error:auth', refused);
}
