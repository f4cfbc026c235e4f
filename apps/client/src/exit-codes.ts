import { HandlerError, NoServiceError, PlainBrokerError } from '@tsr-broker/client';
import { EXIT } from '@tsr/runtime';

/**
 * The client's exit codes (docs/operations.md, "Exit codes"): the programs' 0, 1 and 2, and two of its own, so
 * a script can tell "nobody serves this" and "the service failed" from a broker that is not there.
 */
export const CLIENT_EXIT = {
  ...EXIT,
  /** No worker serves the service (the broker's `no-service` answer). */
  noService: 3,
  /** The service's handler failed on the request (the broker's `handler` answer). */
  handlerFailed: 4,
} as const;

/**
 * The exit code for a failed request: 3 and 4 as above; 2 (bad input) for a broker that answered
 * outside the envelope, which only `--plain` fixes; 1 for everything else (no answer, refusals).
 */
export function exitCodeOf(error: unknown): number {
  if (error instanceof NoServiceError) return CLIENT_EXIT.noService;
  if (error instanceof HandlerError) return CLIENT_EXIT.handlerFailed;
  if (error instanceof PlainBrokerError) return CLIENT_EXIT.usage;
  return CLIENT_EXIT.failure;
}
