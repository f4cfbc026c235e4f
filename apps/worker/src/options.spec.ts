import { ConfigError, loadConfig, usage } from '@tsr/runtime';
import { workerOptions } from './options';

describe('worker options', () => {
  it('reads the seed command line `worker brokerHost brokerPort`, then flags, then the environment', () => {
    const config = loadConfig(workerOptions, {
      argv: ['bro', '7000', '--delay', '5'],
      env: { WORKER_CREDIT: '4', BROKER_HOST: 'ignored' },
    });
    expect(config).toMatchObject({ brokerHost: 'bro', brokerPort: 7000, delayMs: 5, credit: 4, heartbeatMs: 1000, liveness: 3 });
  });

  it('defaults to the seed: broker on 127.0.0.1:9999, one second per request, one request at a time', () => {
    expect(loadConfig(workerOptions, { argv: [], env: {} })).toMatchObject({
      brokerHost: '127.0.0.1',
      brokerPort: 9999,
      delayMs: 1000,
      credit: 1,
      service: 'default',
    });
    expect(usage('worker', workerOptions)).toMatch(/^usage: worker \[broker-host\] \[broker-port\] \[options\]$/m);
  });

  it("serves the service named by --service or WORKER_SERVICE, never one of the broker's own", () => {
    expect(loadConfig(workerOptions, { argv: ['--service', 'text.upper'], env: {} }).service).toBe('text.upper');
    expect(loadConfig(workerOptions, { argv: [], env: { WORKER_SERVICE: 'wordcount' } }).service).toBe('wordcount');
    expect(() => loadConfig(workerOptions, { argv: ['--service', 'tsr.services'], env: {} })).toThrow(
      new ConfigError('--service: service names starting with "tsr." belong to the broker'),
    );
    expect(() => loadConfig(workerOptions, { argv: ['--service', 'a/b'], env: {} })).toThrow(ConfigError);
    expect(loadConfig(workerOptions, { argv: [], env: {} }).handler).toBe('echo');
    expect(loadConfig(workerOptions, { argv: [], env: { WORKER_HANDLER: 'wordcount' } }).handler).toBe('wordcount');
    expect(() => loadConfig(workerOptions, { argv: ['--handler', 'upper'], env: {} })).toThrow(ConfigError);
  });
});
