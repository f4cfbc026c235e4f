/**
 * Why the broker answers a request with an error instead of a reply. The answer's error text is
 * `<reason>` plus, for some, one detail: the limit that was hit. A seed client gets it as a plain
 * answer, `TSR/1 ERR <reason> <detail>`; an envelope client in the frame after the request id.
 */
import { ERROR_HEADER } from './headers';

export const ERROR_REASONS = [
  'overloaded',
  'client-share',
  'too-large',
  'expired',
  'poison',
  'no-service',
  'bad-request',
  'handler',
] as const;
export type ErrorReason = (typeof ERROR_REASONS)[number];

/** What starts a plain error answer: the error header and a space. */
const PLAIN_PREFIX = `${ERROR_HEADER.toString('latin1')} `;

/** The text after `TSR/1 ERR ` in a plain answer, or the error frame of an envelope answer. */
export const errorText = (reason: ErrorReason, detail?: number | string): string => (detail === undefined ? reason : `${reason} ${detail}`);

/** A plain error answer: `TSR/1 ERR <reason> <detail>`. */
export const errorBody = (reason: ErrorReason, detail?: number | string): Buffer =>
  Buffer.from(`${PLAIN_PREFIX}${errorText(reason, detail)}`);

/** The error text of a plain error answer (what follows `TSR/1 ERR `), or undefined for a reply. */
export function plainErrorText(reply: Buffer): string | undefined {
  if (reply.length < PLAIN_PREFIX.length || reply.toString('latin1', 0, PLAIN_PREFIX.length) !== PLAIN_PREFIX) return undefined;
  return reply.toString('utf8', PLAIN_PREFIX.length);
}

const explain: Record<ErrorReason, (detail: string) => string> = {
  overloaded: () => 'broker overloaded: its queue of pending requests is full',
  'client-share': () => "broker overloaded: this client's share of its queue is full",
  'too-large': (d) => `request too large: the broker accepts at most ${d} bytes`,
  expired: (d) => `request expired: no worker served it within ${d} ms`,
  poison: (d) => `request refused: ${d} workers failed while serving it`,
  'no-service': (d) => `no worker serves "${d}"`,
  'bad-request': (d) => `request refused by the broker: ${d}`,
  handler: (d) => `the service failed: ${d}`,
};

/** `reason detail…` (the error text of an answer) as a sentence; the detail may hold spaces. */
export function describeErrorText(text: string): string {
  const space = text.indexOf(' ');
  const reason = space < 0 ? text : text.slice(0, space);
  const detail = space < 0 ? '?' : text.slice(space + 1);
  return (ERROR_REASONS as readonly string[]).includes(reason) ? explain[reason as ErrorReason](detail) : `broker error: ${text}`;
}

/** A client's view of a plain error answer: a sentence saying what happened, or undefined for a reply. */
export function describeError(reply: Buffer): string | undefined {
  const text = plainErrorText(reply);
  return text === undefined ? undefined : describeErrorText(text);
}
