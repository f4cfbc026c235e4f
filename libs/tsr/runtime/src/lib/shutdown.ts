import type { Tracer } from './trace';

export interface Closable {
  close(): void;
}

/** Closes each (the broker and its sockets; the worker, which says goodbye first); one that throws does not keep the others open. */
function closeAll(sockets: readonly Closable[]): void {
  for (const s of sockets) {
    try {
      s.close();
    } catch {
      // already closed
    }
  }
}

/**
 * The seed's `adios`: returns a function that closes what it was given, says why, and exits.
 * Installed on SIGINT and SIGTERM (what Ctrl-C, Docker and Kubernetes send), exit code 0.
 */
export function adios(sockets: readonly Closable[], message: string, trace: Tracer, code = 0, beforeExit?: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    beforeExit?.();
    closeAll(sockets);
    trace.info(message);
    process.exit(code);
  };
}

export function exitOnSignals(sockets: readonly Closable[], trace: Tracer, beforeExit?: () => void): void {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, adios(sockets, `stopped by ${signal}`, trace, 0, beforeExit));
  }
}
