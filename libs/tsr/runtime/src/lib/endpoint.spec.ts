import { freePort } from '@tsr/zmtp/testing';
import { Dealer, Router } from 'zeromq';
import { ConfigError } from './errors';
import { type Endpointable, bindEndpoint, connectEndpoint, tcpEndpoint } from './endpoint';

/** A socket that records what it was asked to do; `bind` fails when `bindError` is set. */
class FakeSocket implements Endpointable {
  bound: string[] = [];
  connected: string[] = [];
  constructor(private readonly bindError?: Error) {}
  async bind(address: string): Promise<void> {
    this.bound.push(address);
    if (this.bindError) throw this.bindError;
  }
  connect(address: string): void {
    this.connected.push(address);
  }
}

describe('tcpEndpoint', () => {
  it.each([
    ['localhost', 9998, 'tcp://localhost:9998'],
    ['10.0.0.1', 1, 'tcp://10.0.0.1:1'],
    ['broker.example.com', 65535, 'tcp://broker.example.com:65535'],
    ['*', 9999, 'tcp://*:9999'],
    ['::1', 9998, 'tcp://[::1]:9998'],
    ['fe80::1:2', 80, 'tcp://[fe80::1:2]:80'],
  ])('%s:%p -> %s', (host, port, want) => {
    expect(tcpEndpoint(host, port)).toBe(want);
  });

  it('accepts the port as text, as it comes from argv or env', () => {
    expect(tcpEndpoint('h', '9998')).toBe('tcp://h:9998');
  });

  it.each([0, 65536, -1, 1.5, Number.NaN])('rejects port number %p with a ConfigError', (port) => {
    expect(() => tcpEndpoint('h', port)).toThrow(ConfigError);
    expect(() => tcpEndpoint('h', port)).toThrow(/port/);
  });

  it.each(['0', 'abc', '', '99999'])('rejects port text %p with a ConfigError', (port) => {
    expect(() => tcpEndpoint('h', port)).toThrow(ConfigError);
  });

  it.each(['bad host', '[::1]', 'tcp://h', '', '-h', 'h:9998x'])('rejects host %p with a ConfigError naming the host', (host) => {
    expect(() => tcpEndpoint(host, 9998)).toThrow(ConfigError);
    expect(() => tcpEndpoint(host, 9998)).toThrow(/host/);
  });
});

describe('bindEndpoint and connectEndpoint with a fake socket', () => {
  it('binds every interface by default and returns the address', async () => {
    const s = new FakeSocket();
    await expect(bindEndpoint(s, 9999)).resolves.toBe('tcp://*:9999');
    expect(s.bound).toEqual(['tcp://*:9999']);
  });

  it('binds a given host', async () => {
    const s = new FakeSocket();
    await expect(bindEndpoint(s, 9998, '::1')).resolves.toBe('tcp://[::1]:9998');
    expect(s.bound).toEqual(['tcp://[::1]:9998']);
  });

  it('turns a failing bind into ConfigError "cannot bind <address>: <reason>"', async () => {
    const s = new FakeSocket(new Error('Address already in use'));
    const p = bindEndpoint(s, 9998, '127.0.0.1');
    await expect(p).rejects.toBeInstanceOf(ConfigError);
    await expect(p).rejects.toThrow('cannot bind tcp://127.0.0.1:9998: Address already in use');
  });

  it('validates before binding: a bad port never reaches the socket', async () => {
    const s = new FakeSocket();
    await expect(bindEndpoint(s, 0)).rejects.toBeInstanceOf(ConfigError);
    await expect(bindEndpoint(s, 70000, 'h')).rejects.toBeInstanceOf(ConfigError);
    await expect(bindEndpoint(s, 9998, 'bad host')).rejects.toBeInstanceOf(ConfigError);
    expect(s.bound).toEqual([]);
  });

  it('connects to host:port and returns the address', () => {
    const s = new FakeSocket();
    expect(connectEndpoint(s, 'broker', 9998)).toBe('tcp://broker:9998');
    expect(connectEndpoint(s, '::1', 9999)).toBe('tcp://[::1]:9999');
    expect(s.connected).toEqual(['tcp://broker:9998', 'tcp://[::1]:9999']);
  });

  it('validates before connecting', () => {
    const s = new FakeSocket();
    expect(() => connectEndpoint(s, 'broker', 0)).toThrow(ConfigError);
    expect(() => connectEndpoint(s, 'no such host!', 9998)).toThrow(ConfigError);
    expect(s.connected).toEqual([]);
  });
});

describe('bindEndpoint with real ZeroMQ sockets', () => {
  const sockets: { close(): void }[] = [];
  const track = <T extends { close(): void }>(s: T): T => {
    sockets.push(s);
    return s;
  };
  afterEach(() => {
    for (const s of sockets.splice(0)) s.close();
  });

  it('binds a Router that a peer can reach, and a second bind of the port is a ConfigError', async () => {
    const port = await freePort();
    const router = track(new Router({ linger: 0 }));
    await expect(bindEndpoint(router, port, '127.0.0.1')).resolves.toBe(`tcp://127.0.0.1:${port}`);

    // The endpoint really works: a peer connected with connectEndpoint gets through.
    const dealer = track(new Dealer({ routingId: 'peer', linger: 0, sendTimeout: 5000 }));
    connectEndpoint(dealer, '127.0.0.1', port);
    await dealer.send(['', 'ping']);
    const frames = await router.receive();
    expect(frames.map((f) => f.toString())).toEqual(['peer', '', 'ping']);

    const second = track(new Router({ linger: 0 }));
    const p = bindEndpoint(second, port, '127.0.0.1');
    await expect(p).rejects.toBeInstanceOf(ConfigError);
    await expect(p).rejects.toThrow(new RegExp(`^cannot bind tcp://127\\.0\\.0\\.1:${port}: .*in use`, 'i'));
  });

  it('binds every interface by default', async () => {
    const port = await freePort();
    const router = track(new Router({ linger: 0 }));
    await expect(bindEndpoint(router, port)).resolves.toBe(`tcp://*:${port}`);
    expect(router.lastEndpoint).toBe(`tcp://0.0.0.0:${port}`);
  });
});
