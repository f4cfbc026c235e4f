import { readFileSync } from 'node:fs';
import { type OptionSpec, parsers } from '../config';
import { ConfigError, errorCode } from '../errors';
import type { CurveServerSettings } from './curve-guard';
import { type CurveKeyPair, keyPairFromText, newKeyPair, publicKeyFromText } from './keys';

const text = (flag: string, env: string, describe: string) =>
  ({ flag, env: [env], default: '', parse: parsers.string, describe }) satisfies OptionSpec<string>;

/** This program's own key pair: a key pair file (keygen's NAME.key), or the secret key itself. */
const ownKeyOptions = {
  curveSecretKeyFile: text('curve-secret-key-file', 'CURVE_SECRET_KEY_FILE', "CURVE: file of this program's key pair (keygen's NAME.key)"),
  curveSecretKey: text(
    'curve-secret-key',
    'CURVE_SECRET_KEY',
    "CURVE: this program's secret key, Z85 (prefer the file: a command line is visible to every user)",
  ),
};

/** The broker's CURVE options: on when it has a secret key; then workers must be in an allow-list. */
export const curveBrokerOptions = {
  ...ownKeyOptions,
  curveWorkers: text(
    'curve-workers',
    'CURVE_WORKERS',
    'CURVE: allow-list of worker public keys, a file or a folder of NAME.pub files (re-read on change and on SIGHUP)',
  ),
  curveClients: text(
    'curve-clients',
    'CURVE_CLIENTS',
    "CURVE: allow-list of client public keys; empty: any client that knows the broker's public key",
  ),
};

/** A worker's or client's CURVE options: on when it has the broker's public key. */
export const curvePeerOptions = {
  curveServerKeyFile: text('curve-server-key-file', 'CURVE_SERVER_KEY_FILE', "CURVE: file of the broker's public key (keygen's NAME.pub)"),
  curveServerKey: text('curve-server-key', 'CURVE_SERVER_KEY', "CURVE: the broker's public key, Z85"),
  ...ownKeyOptions,
};

type Own = { curveSecretKeyFile: string; curveSecretKey: string };

function readKeyFile(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`--${flag} ${path}: cannot read it (${errorCode(e)})`);
  }
}

/** One of a file option and a value option, read: the text and where it came from; undefined if neither is set. */
function oneOf(file: string, value: string, fileFlag: string, valueFlag: string): { text: string; source: string } | undefined {
  if (file && value) throw new ConfigError(`give --${fileFlag} or --${valueFlag}, not both`);
  if (file) return { text: readKeyFile(file, fileFlag), source: file };
  if (value) return { text: value, source: `--${valueFlag}` };
  return undefined;
}

function ownKeyPair(config: Own): CurveKeyPair | undefined {
  const found = oneOf(config.curveSecretKeyFile, config.curveSecretKey, 'curve-secret-key-file', 'curve-secret-key');
  return found && keyPairFromText(found.text, found.source);
}

/** The broker's CURVE settings, or undefined when CURVE is off (the default, as the seed). Throws a ConfigError for anything inconsistent. */
export function curveBrokerSettings(config: Own & { curveWorkers: string; curveClients: string }): CurveServerSettings | undefined {
  const pair = ownKeyPair(config);
  if (!pair) {
    if (config.curveWorkers || config.curveClients)
      throw new ConfigError('--curve-workers and --curve-clients need CURVE on: give the broker its key pair (--curve-secret-key-file)');
    return undefined;
  }
  if (!config.curveWorkers)
    throw new ConfigError(
      'with CURVE on, the backend admits only listed workers: give --curve-workers (a file or folder of worker public keys)',
    );
  return {
    ...pair,
    domains: {
      frontend: { peer: 'client', allowList: config.curveClients || undefined },
      backend: { peer: 'worker', allowList: config.curveWorkers },
    },
  };
}

/** What a CURVE client socket needs: the server's public key and a key pair of its own. */
export interface CurvePeerKeys extends CurveKeyPair {
  serverKey: string;
}

/**
 * A worker's or client's keys, or undefined when CURVE is off. A worker must bring its own key pair
 * (the broker admits listed worker keys only); a client without one gets a fresh pair, enough for
 * a broker that admits any client knowing its public key.
 */
export function curvePeerKeys(
  config: Own & { curveServerKeyFile: string; curveServerKey: string },
  ownKey: 'required' | 'optional',
): CurvePeerKeys | undefined {
  const server = oneOf(config.curveServerKeyFile, config.curveServerKey, 'curve-server-key-file', 'curve-server-key');
  const pair = ownKeyPair(config);
  if (!server) {
    if (pair) throw new ConfigError("a key pair without the broker's public key: give --curve-server-key-file too (or neither, CURVE off)");
    return undefined;
  }
  if (!pair && ownKey === 'required')
    throw new ConfigError('with CURVE on, a worker needs its own key pair, listed at the broker: give --curve-secret-key-file');
  return { serverKey: publicKeyFromText(server.text, server.source), ...(pair ?? newKeyPair()) };
}
