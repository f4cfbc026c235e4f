/** Test support for the socket specs: free ports, libzmq's socket events, raw keys. */
import { createServer } from 'node:net';
import type { Event, Socket } from 'zeromq';
import type { CurveKeyBytes, CurveKeyPair } from '../curve-keys';
import { z85Decode } from '../z85';

/** A TCP port on loopback that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Calls `handle` with each event of a libzmq socket's monitor until the socket closes. */
export function onSocketEvents(socket: Socket, handle: (event: Event) => void): void {
  const events = socket.events;
  void (async () => {
    while (!events.closed) {
      let event: Event;
      try {
        event = await events.receive();
      } catch {
        return;
      }
      handle(event);
    }
  })();
}

/** A Z85 key's bytes (the key is known to be one). */
export const keyBytes = (key: string): Buffer => z85Decode(key) as Buffer;

/** A Z85 key pair's bytes. */
export const keyPairBytes = (pair: CurveKeyPair): CurveKeyBytes => ({ publicKey: keyBytes(pair.publicKey), secretKey: keyBytes(pair.secretKey) });
