import { ConfigError, brokerAddresses, loadConfig } from '@tsr/runtime';
import { clientOptions } from './options';

describe('client options', () => {
  it('reads the seed command line `client brokerHost brokerPort` and the load mode flags', () => {
    const config = loadConfig(clientOptions, {
      argv: ['bro', '9998', '--requests', '20', '--concurrency', '4', '--json'],
      env: { CLIENT_RETRIES: '0' },
    });
    expect(config).toMatchObject({
      brokerHost: 'bro',
      brokerPort: 9998,
      requests: 20,
      concurrency: 4,
      json: true,
      retries: 0,
      timeoutMs: 10_000,
    });
  });

  it('takes several brokers, comma-separated, the port of --broker-port for those given without one', () => {
    const config = loadConfig(clientOptions, { argv: ['--broker-host', '127.0.0.1:5001,127.0.0.1:5002,bro'], env: {} });
    expect(brokerAddresses(config.brokerHost, config.brokerPort)).toEqual([
      { host: '127.0.0.1', port: 5001 },
      { host: '127.0.0.1', port: 5002 },
      { host: 'bro', port: 9998 },
    ]);
    expect(() => loadConfig(clientOptions, { argv: ['127.0.0.1:5001,bad host'], env: {} })).toThrow(
      '--broker-host must be a host or host:port, several separated by commas (IPv6 with a port: [::1]:5000), got "bad host" in "127.0.0.1:5001,bad host"',
    );
  });

  it('is one-shot by default, towards 127.0.0.1:9998, and refuses a concurrency of 0', () => {
    expect(loadConfig(clientOptions, { argv: [], env: {} })).toMatchObject({
      brokerHost: '127.0.0.1',
      brokerPort: 9998,
      requests: 0,
      request: '',
      giveUpAfter: 3,
      durationS: 0,
    });
    expect(loadConfig(clientOptions, { argv: ['--give-up-after', '0', '--duration', '60'], env: {} })).toMatchObject({
      giveUpAfter: 0,
      durationS: 60,
    });
    expect(() => loadConfig(clientOptions, { argv: ['--concurrency', '0'], env: {} })).toThrow(ConfigError);
  });

  it('calls the default service unless --service or CLIENT_SERVICE names another; --plain and --services are switches', () => {
    expect(loadConfig(clientOptions, { argv: [], env: {} })).toMatchObject({ service: 'default', plain: false, services: false });
    expect(loadConfig(clientOptions, { argv: ['--service', 'wordcount', '--plain', '--services'], env: {} })).toMatchObject({
      service: 'wordcount',
      plain: true,
      services: true,
    });
    expect(loadConfig(clientOptions, { argv: [], env: { CLIENT_SERVICE: 'tsr.services', CLIENT_PLAIN: 'true' } })).toMatchObject({
      service: 'tsr.services',
      plain: true,
    });
    expect(() => loadConfig(clientOptions, { argv: ['--service', ''], env: {} })).toThrow(ConfigError);
  });
});
