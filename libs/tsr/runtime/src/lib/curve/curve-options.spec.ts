import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curveKeyPair } from 'zeromq';
import { ConfigError } from '../errors';
import { curveClientSocketOptions } from '@tsr/zmtp/testing';
import { curveBrokerSettings, curvePeerKeys } from './curve-options';
import { keyPairFileText, publicKeyFileText } from './keys';

describe('CURVE options', () => {
  let dir: string;
  const broker = curveKeyPair();
  const worker = curveKeyPair();
  const file = (name: string, text: string) => (writeFileSync(join(dir, name), text), join(dir, name));
  const none = {
    curveSecretKeyFile: '',
    curveSecretKey: '',
    curveWorkers: '',
    curveClients: '',
    curveServerKeyFile: '',
    curveServerKey: '',
  };
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tsr-curve-options-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is off unless given keys, as the seed', () => {
    expect(curveBrokerSettings(none)).toBeUndefined();
    expect(curvePeerKeys(none, 'required')).toBeUndefined();
    expect(curveClientSocketOptions(undefined)).toEqual({});
  });

  it('gives the broker its key pair and the allow-lists of both sockets', () => {
    const settings = curveBrokerSettings({
      ...none,
      curveSecretKeyFile: file('broker.key', keyPairFileText(broker, 'broker')),
      curveWorkers: '/w',
      curveClients: '',
    });
    expect(settings).toEqual({
      ...broker,
      domains: { frontend: { peer: 'client', allowList: undefined }, backend: { peer: 'worker', allowList: '/w' } },
    });
    expect(
      curveBrokerSettings({ ...none, curveSecretKey: broker.secretKey, curveWorkers: '/w', curveClients: '/c' })?.domains['frontend']
        .allowList,
    ).toBe('/c');
  });

  it("gives a worker the broker's public key and its own pair, from files or the environment", () => {
    const fromFiles = curvePeerKeys(
      {
        ...none,
        curveServerKeyFile: file('broker.pub', publicKeyFileText(broker.publicKey, 'b')),
        curveSecretKeyFile: file('worker.key', keyPairFileText(worker, 'w')),
      },
      'required',
    );
    expect(fromFiles).toEqual({ serverKey: broker.publicKey, ...worker });
    expect(curvePeerKeys({ ...none, curveServerKey: broker.publicKey, curveSecretKey: worker.secretKey }, 'required')).toEqual(fromFiles);
    expect(curveClientSocketOptions(fromFiles)).toEqual({
      curveServerKey: broker.publicKey,
      curvePublicKey: worker.publicKey,
      curveSecretKey: worker.secretKey,
    });
  });

  it('gives a client without a key pair a fresh one', () => {
    const [a, b] = [0, 1].map(() => curvePeerKeys({ ...none, curveServerKey: broker.publicKey }, 'optional'));
    expect(a?.serverKey).toBe(broker.publicKey);
    expect(a?.publicKey).not.toBe(b?.publicKey);
  });

  it.each([
    [{ curveWorkers: '/w' }, 'broker', '--curve-workers and --curve-clients need CURVE on'],
    [{ curveSecretKey: 'SECRET' }, 'broker', 'give --curve-workers'],
    [
      { curveSecretKey: 'x', curveSecretKeyFile: '/k', curveWorkers: '/w' },
      'broker',
      'give --curve-secret-key-file or --curve-secret-key, not both',
    ],
    [
      { curveSecretKeyFile: '/nonexistent/broker.key', curveWorkers: '/w' },
      'broker',
      '--curve-secret-key-file /nonexistent/broker.key: cannot read it (ENOENT)',
    ],
    [{ curveServerKey: 'BROKER' }, 'worker', 'a worker needs its own key pair'],
    [{ curveSecretKey: 'WORKER' }, 'worker', "a key pair without the broker's public key"],
    [{ curveServerKey: 'not a key' }, 'client', '--curve-server-key line 1: neither a key nor a comment'],
  ])('refuses %j for the %s with a clear message', (given, program, message) => {
    const withKeys = Object.fromEntries(
      Object.entries(given).map(([k, v]) => [
        k,
        v === 'SECRET' || v === 'WORKER' ? worker.secretKey : v === 'BROKER' ? broker.publicKey : v,
      ]),
    );
    const config = { ...none, ...withKeys };
    const run = () =>
      program === 'broker' ? curveBrokerSettings(config) : curvePeerKeys(config, program === 'worker' ? 'required' : 'optional');
    expect(run).toThrow(ConfigError);
    expect(run).toThrow(message);
  });
});
