/**
 * Test support for whoever tests against these sockets with libzmq's own (the `zeromq` package, a
 * dev dependency: nothing here is part of the library's runtime, and `@tsr/zmtp` never loads it).
 * Imported as `@tsr/zmtp/testing` by this library's specs, by @tsr/runtime's and the broker's, and
 * through `@tsr/testing` by the e2e suites and the benchmark.
 */
import { createServer } from 'node:net';
import type { Event, Socket } from 'zeromq';

/**
 * Ports handed out are taken from below the kernel's ephemeral range (Linux: 32768–60999), where
 * outgoing connections take their local ports: a port the OS picked from that range, free a moment
 * ago, may be a connection's by the time the program under test binds it (EADDRINUSE).
 */
const PORTS = { low: 20_000, high: 32_767 };
/** Ports this process handed out: never twice. */
const handedOut = new Set<number>();

/** A TCP port free on every interface a moment ago, never handed out before by this process. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 500; attempt++) {
    const port = PORTS.low + Math.floor(Math.random() * (PORTS.high - PORTS.low + 1));
    if (handedOut.has(port)) continue;
    handedOut.add(port); // claimed before the check, which awaits: calls at once never share a port
    if (await bindable(port)) return port;
    handedOut.delete(port);
  }
  throw new Error(`no free TCP port between ${PORTS.low} and ${PORTS.high}`);
}

/** Whether a server can listen on `port` at `host`; by default on every interface (as the broker binds `*`). */
export function bindable(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, host, () => server.close(() => resolve(true)));
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
