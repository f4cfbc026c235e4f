import { parsers } from './config';
import { ConfigError } from './errors';
import { tcpEndpoint } from './endpoint';

/** Where a broker socket is, as the libraries take it: `tcp://host:port`, `host:port`, or parts. */
export type BrokerAddress = string | { host: string; port: number };

/** A broker's host (an IPv6 literal without its brackets) and port. */
export interface BrokerHostPort {
  host: string;
  port: number;
}

const HOST_PORT = /^(?:tcp:\/\/)?(\[[0-9a-fA-F:]+\]|[^:[\]]+):(\d+)$/;

/** The host and port of `address`, validated (a ConfigError says what is wrong). */
export function brokerHostPort(address: BrokerAddress): BrokerHostPort {
  if (typeof address !== 'string') {
    tcpEndpoint(address.host, address.port); // validates both
    return { host: address.host, port: address.port };
  }
  const match = HOST_PORT.exec(address);
  if (!match) throw new ConfigError(`broker address must be tcp://host:port or host:port, got ${JSON.stringify(address)}`);
  return { host: parsers.host(match[1].replace(/^\[|\]$/g, ''), 'host'), port: parsers.port(match[2], 'port') };
}

/** The `tcp://host:port` endpoint of `address`, validated (a ConfigError says what is wrong). */
export function brokerEndpoint(address: BrokerAddress): string {
  const { host, port } = brokerHostPort(address);
  return tcpEndpoint(host, port);
}
