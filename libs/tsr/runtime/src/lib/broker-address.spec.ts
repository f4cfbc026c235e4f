import { brokerEndpoint } from './broker-address';
import { ConfigError } from './errors';

describe('brokerEndpoint', () => {
  it.each([
    ['tcp://bro:9999', 'tcp://bro:9999'],
    ['localhost:9998', 'tcp://localhost:9998'],
    ['127.0.0.1:7', 'tcp://127.0.0.1:7'],
    ['[::1]:9998', 'tcp://[::1]:9998'],
    ['tcp://[::1]:9998', 'tcp://[::1]:9998'],
  ])('reads %s as %s', (address, endpoint) => expect(brokerEndpoint(address)).toBe(endpoint));

  it('takes a host and a port', () => expect(brokerEndpoint({ host: 'bro', port: 9999 })).toBe('tcp://bro:9999'));

  it.each(['bro', 'bro:', ':9999', 'bro:99999', 'tcp://bro', 'udp://bro:1', 'a b:1'])('refuses %j with a ConfigError', (address) =>
    expect(() => brokerEndpoint(address)).toThrow(ConfigError),
  );
});
