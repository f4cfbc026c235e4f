/**
 * Not a test: a tiny program the program and shutdown specs run in a child process
 * (`node --import tsx`), so runProgram and exitOnSignals can really exit. What it does is
 * chosen by FIXTURE_MODE; the configuration comes from argv / env / .env as in the real programs.
 */
import { Dealer, Router } from 'zeromq';
import { ConfigError } from '../errors';
import { connectEndpoint } from '../endpoint';
import { fail, runProgram } from '../program';
import { receiveLoop } from '../receive-loop';
import { exitOnSignals } from '../shutdown';
import { createTracer } from '../trace';
import { fixtureOptions } from './fixture-options';

const mode = process.env['FIXTURE_MODE'] ?? 'print';

runProgram('fixture', fixtureOptions, (config) => {
  switch (mode) {
    case 'print':
      process.stdout.write(JSON.stringify(config) + '\n');
      return;
    case 'throw':
      throw new Error('boom\n    at main (fixture.ts:1:1)');
    case 'throw-string':
      throw 'plain string';
    case 'config-error':
      throw new ConfigError('cannot bind tcp://*:1: denied');
    case 'reject':
      return new Promise<void>((_, reject) => setTimeout(() => reject(new Error('late boom')), 10));
    case 'uncaught':
      setTimeout(() => {
        throw new Error('uncaught boom');
      }, 10);
      return;
    case 'unhandled':
      void Promise.reject(new Error('unhandled boom'));
      return;
    case 'signals':
      return serveUntilSignalled(config.brokerHost, config.brokerPort);
    case 'deaf-loop':
      return failInReceiveLoop();
    default:
      throw new Error(`unknown FIXTURE_MODE ${mode}`);
  }
});

/** Opens real sockets (one with a message queued for a peer that never answers) and waits for a signal. */
async function serveUntilSignalled(host: string, port: number): Promise<void> {
  const trace = createTracer('fixture', 'info');
  const router = new Router();
  await router.bind('tcp://127.0.0.1:*');
  const dealer = new Dealer();
  connectEndpoint(dealer, host, port);
  void dealer.send(['', 'never delivered']).catch(() => undefined);
  const reporting = (name: string, s: { close(): void }) => ({
    close() {
      s.close();
      process.stdout.write(`closed ${name}\n`);
    },
  });
  exitOnSignals([reporting('router', router), reporting('dealer', dealer)], trace, () => process.stdout.write('before exit\n'));
  setInterval(() => undefined, 60_000); // keeps the process alive: only a signal ends it
  process.stdout.write('ready\n');
}

/** A receive loop whose handler throws on the first message: the program must exit, not go deaf. */
async function failInReceiveLoop(): Promise<void> {
  const router = new Router({ linger: 0 });
  await router.bind('tcp://127.0.0.1:*');
  const dealer = new Dealer({ linger: 0 });
  dealer.connect(router.lastEndpoint as string);
  void receiveLoop(
    'fixture',
    router,
    () => {
      throw new Error('handler bug');
    },
    (error) => {
      router.close();
      dealer.close();
      fail('fixture', error);
    },
  );
  await dealer.send('hello');
  setInterval(() => undefined, 60_000); // only the fatal error ends this process
}
