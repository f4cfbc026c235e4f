/**
 * Test support for whoever tests against these sockets with libzmq's own (the `zeromq` package, a
 * dev dependency: nothing here is part of the library's runtime, and `@tsr/zmtp` never loads it).
 * Imported as `@tsr/zmtp/testing` by this library's specs, by @tsr/runtime's and the broker's, and
 * through `@tsr/testing` by the e2e suites and the benchmark.
 */
import { createServer } from 'node:net';
import type { Event, Socket } from 'zeromq';

/** A TCP port on loopback that the OS picked and that was free a moment ago. */
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

/** CURVE keys of a client, in Z85: the broker's public key and its own pair. */
export interface CurveClientKeys {
  serverKey: string;
  publicKey: string;
  secretKey: string;
}

/** Options of a libzmq CURVE client socket (spread into its constructor options); none when CURVE is off. */
export const curveClientSocketOptions = (keys: CurveClientKeys | undefined) =>
  keys ? { curveServerKey: keys.serverKey, curvePublicKey: keys.publicKey, curveSecretKey: keys.secretKey } : {};

/**
 * Calls `handle` with each event of a libzmq socket's monitor until the socket closes. It reads them
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
