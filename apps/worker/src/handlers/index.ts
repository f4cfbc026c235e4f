import type { Handler } from '@tsr-broker/worker';
import { echo } from './echo';
import { wordcount } from './wordcount';

/** The services this program can run (`--handler`): the seed's echo, and the wordcount example. */
export const HANDLERS = ['echo', 'wordcount'] as const;
export type HandlerName = (typeof HANDLERS)[number];

/** The handler `name`, for a worker with this identity and delay (the echo's `<request> <id>` after its delay). */
export const handlerFor = (name: HandlerName, identity: string, delayMs: number): Handler =>
  name === 'echo' ? echo(identity, delayMs) : wordcount;
