import type { Handler } from '@tsr-broker/worker';
import { answerBody } from '@tsr/protocol';

/**
 * The seed's service: answers `<request> <worker id>` after `delayMs` (the seed's `RETARDO`).
 * Without a delay it answers at once, so a burst is answered in one pass. The delay stops when the
 * request's signal fires (its deadline passed, the worker closes, its broker is lost): the handler
 * then fails with the signal's reason, as nobody waits for the answer any more.
 */
export function echo(identity: string, delayMs: number): Handler {
  const suffix = Buffer.from(` ${identity}`);
  if (delayMs === 0) return (request) => answerBody(request, suffix);
  return (request, { signal }) =>
    new Promise((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason);
      const stop = () => (clearTimeout(timer), reject(signal.reason));
      const timer = setTimeout(() => (signal.removeEventListener('abort', stop), resolve(answerBody(request, suffix))), delayMs);
      signal.addEventListener('abort', stop, { once: true });
    });
}
