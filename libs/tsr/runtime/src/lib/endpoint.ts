import { parsers } from './config';
import { ConfigError } from './errors';

/** Anything that binds ZeroMQ endpoints (our ROUTER, a libzmq socket), so validation is testable without sockets. */
export interface Bindable {
  bind(address: string): Promise<void>;
}

/** Anything that binds and connects ZeroMQ endpoints (a libzmq socket in the tests). */
export interface Endpointable extends Bindable {
  connect(address: string): void;
}

/** `tcp://host:port`, validated; IPv6 literals get their brackets. */
export function tcpEndpoint(host: string, port: number | string): string {
  const h = parsers.host(host, 'host');
  const p = typeof port === 'number' ? parsers.port(String(port), 'port') : parsers.port(port, 'port');
  return `tcp://${h.includes(':') ? `[${h}]` : h}:${p}`;
}

/** The seed's `creaPuntoConexion`: binds on every interface unless a host is given. */
export async function bindEndpoint(socket: Bindable, port: number, host = '*'): Promise<string> {
  const address = tcpEndpoint(host, port);
  try {
    await socket.bind(address);
  } catch (e) {
    throw new ConfigError(`cannot bind ${address}: ${(e as Error).message}`);
  }
  return address;
}

/** The seed's `conecta`. A ZeroMQ socket connects in the background and retries, so the peer may start later. */
export function connectEndpoint(socket: Endpointable, host: string, port: number): string {
  const address = tcpEndpoint(host, port);
  socket.connect(address);
  return address;
}

/** Binds to a port the OS picks on loopback and returns it (tests and tools: no port races). */
export async function bindAnyLoopbackPort(socket: Endpointable & { readonly lastEndpoint: string | null }): Promise<number> {
  await socket.bind('tcp://127.0.0.1:*');
  return Number(socket.lastEndpoint?.split(':').pop());
}
