import type { Handler } from '@tsr-broker/worker';
import { answerBody } from '@tsr/protocol';

/**
 * The seed's service: answers `<request> <worker id>` after `delayMs` (the seed's `RETARDO`).
 * Without a delay it answers at once, so a burst is answered in one pass.
 */
export function echo(identity: string, delayMs: number): Handler {
  const suffix = Buffer.from(` ${identity}`);
  if (delayMs === 0) return (request) => answerBody(request, suffix);
  return (request) => new Promise((resolve) => setTimeout(() => resolve(answerBody(request, suffix)), delayMs));
}
