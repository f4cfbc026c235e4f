/**
 * `tcp://host:port` as Node's `net` takes it: `*` host is every interface (IPv4 only unless `ipv6`,
 * as libzmq's ZMQ_IPV6), `*` port any free one (0); IPv6 addresses in brackets.
 */
export function parseTcpEndpoint(address: string, ipv6 = false): { host: string; port: number } {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:[\]]+):(\d+|\*)$/.exec(address);
  if (!m) throw new Error(`not a tcp://host:port endpoint: ${address}`);
  const host = m[1] === '*' ? (ipv6 ? '::' : '0.0.0.0') : m[1].replace(/^\[|\]$/g, '');
  const port = m[2] === '*' ? 0 : Number(m[2]);
  if (port > 65535) throw new Error(`port out of range in ${address}`);
  return { host, port };
}
