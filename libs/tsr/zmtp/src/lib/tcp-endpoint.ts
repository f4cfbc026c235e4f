/** `tcp://host:port` as Node's `net` takes it: `*` host is every interface (undefined), `*` port any free one (0); IPv6 without brackets. */
export function parseTcpEndpoint(address: string): { host: string | undefined; port: number } {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:[\]]+):(\d+|\*)$/.exec(address);
  if (!m) throw new Error(`not a tcp://host:port endpoint: ${address}`);
  return { host: m[1] === '*' ? undefined : m[1].replace(/^\[|\]$/g, ''), port: m[2] === '*' ? 0 : Number(m[2]) };
}
