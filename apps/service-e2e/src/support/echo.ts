/** What an echo worker adds to the request it answers (`<request> W <id>`, as the seed's): the tail's length in bytes, 0 if none. */
export function echoTail(answer: Buffer): number {
  const end = answer.toString('latin1', Math.max(0, answer.length - 300));
  return / W \S+$/.exec(end)?.[0].length ?? 0;
}
