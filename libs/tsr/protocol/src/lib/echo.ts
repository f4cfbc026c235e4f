/**
 * The seed's service, which our default worker keeps: the answer to a request is the request, a
 * space and the worker's id (the seed's `${mensaje} ${id}`). Plain clients check answers by it.
 */

/** The answer: the request, then the suffix ` <worker id>`. */
export const answerBody = (request: Buffer, workerSuffix: Buffer): Buffer => Buffer.concat([request, workerSuffix]);

/**
 * Whether `reply` answers `request` (starts with it, then a space): how a client tells its answer
 * from a stray one to an earlier request that reached the same connection.
 */
export const isAnswerTo = (request: Buffer, reply: Buffer): boolean =>
  reply.length > request.length && reply[request.length] === 0x20 && reply.subarray(0, request.length).equals(request);
