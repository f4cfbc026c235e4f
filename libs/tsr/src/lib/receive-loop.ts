/** A socket as the loop sees it: messages to iterate, and whether it was closed on purpose. */
export interface Receivable<T> extends AsyncIterable<T> {
  readonly closed: boolean;
}

/**
 * Feeds every message of `socket` to `handle`, one at a time. A handler that throws, or a socket
 * that fails, would otherwise end the loop and leave the process up but deaf (its TCP health
 * check still green); instead `fatal` is called once with what happened, and the programs exit 1
 * so that their supervisor restarts them. Closing the socket ends the loop quietly.
 */
export async function receiveLoop<T>(name: string, socket: Receivable<T>, handle: (message: T) => void, fatal: (error: Error) => void): Promise<void> {
  try {
    for await (const message of socket) handle(message);
  } catch (e) {
    if (!socket.closed) fatal(new Error(`${name} receive loop failed: ${e instanceof Error ? e.message : String(e)}`));
  }
}
