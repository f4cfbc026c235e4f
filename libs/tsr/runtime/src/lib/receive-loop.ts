/** A socket as the loop sees it: a message at a time, and whether it was closed on purpose. */
export interface Receivable<T> {
  readonly closed: boolean;
  receive(): Promise<T>;
}

/**
 * Feeds every message of `socket` to `handle`, one at a time: for sockets read by `receive()`,
 * libzmq's (the `zeromq` package's) in the benchmark's baselines and load generator and in tests;
 * the programs' own sockets call a handler instead (`guardedHandler`). A handler that throws, or a
 * socket that fails, would otherwise end the loop and leave the process up but deaf (its TCP
 * health check still green); instead `fatal` is called once with what happened. Closing the
 * socket ends the loop quietly.
 *
 * It awaits `receive()` itself rather than iterating the socket: zeromq's async iterator wraps
 * every message in one more promise and a result object, a cost paid per message on hot paths.
 */
export async function receiveLoop<T>(
  name: string,
  socket: Receivable<T>,
  handle: (message: T) => void,
  fatal: (error: Error) => void,
): Promise<void> {
  try {
    // no `closed` check per message (on a zeromq socket, a native call): closing makes receive() fail, which ends the loop
    for (;;) handle(await socket.receive());
  } catch (e) {
    if (!socket.closed) fatal(new Error(`${name} receive loop failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}

/**
 * The same promise for a socket that calls its handler itself (our ZMTP sockets, so every socket
 * of the programs): a handler that throws is reported once to `fatal` as "<name> receive loop
 * failed: …", and nothing more is handled after it, as after a receive loop that ended; the
 * programs then exit 1 so that their supervisor restarts them.
 */
export function guardedHandler<T>(name: string, handle: (message: T) => void, fatal: (error: Error) => void): (message: T) => void {
  let failed = false;
  return (message) => {
    if (failed) return;
    try {
      handle(message);
    } catch (e) {
      failed = true;
      fatal(new Error(`${name} receive loop failed: ${e instanceof Error ? e.message : String(e)}`));
    }
  };
}
