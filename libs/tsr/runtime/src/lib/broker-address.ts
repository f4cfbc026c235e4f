import { ConfigError } from './errors';
import { tcpEndpoint } from './endpoint';

/** Where a broker socket is, as the libraries take it: `tcp://host:port`, `host:port`, or parts. */
export type BrokerAddress = string | { host: string; port: number };

const HOST_PORT = /^(?:tcp:\/\/)?(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d+)$/;

/** The `tcp://host:port` endpoint of `address`, validated (a ConfigError says what is wrong). */
export function brokerEndpoint(address: BrokerAddress): string {
  if (typeof address !== 'string') return tcpEndpoint(address.host, address.port);
  const match = HOST_PORT.exec(address);
  if (!match) throw new ConfigError(`broker address must be tcp://host:port or host:port, got ${JSON.stringify(address)}`);
  return tcpEndpoint(match[1].replace(/^\[|\]$/g, ''), match[2]);
}
