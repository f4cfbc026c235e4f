import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../errors';
import { keyPairFileText, newKeyPair, publicKeyFileText, publicKeyFromText } from './keys';

/**
 * Writes a new key pair: `NAME.key` (the pair, secret) and `NAME.pub` (the public key, for peers
 * and allow-lists). Never overwrites: a key in use is replaced by rotation, not by accident.
 * The folder is made private (0700): the files in it are readable (0644) so that a container's
 * own user can read the ones mounted into it (compose mounts files as they are on the host).
 */
export function writeKeyPair(dir: string, name: string): string[] {
  if (!/^[A-Za-z0-9][\w.-]*$/.test(name)) throw new ConfigError(`key name "${name}": letters, digits, . _ - only`);
  const files = [join(dir, `${name}.key`), join(dir, `${name}.pub`)];
  const existing = files.filter((f) => existsSync(f));
  if (existing.length)
    throw new ConfigError(`${existing.join(' and ')} already exist: remove them first, or pick another name (rotation: see README)`);
  privateFolder(dir);
  const pair = newKeyPair();
  writeFileSync(files[0], keyPairFileText(pair, name), { mode: 0o644 });
  writeFileSync(files[1], publicKeyFileText(pair.publicKey, name), { mode: 0o644 });
  return files;
}

function privateFolder(dir: string): void {
  mkdirSync(dir, { recursive: true });
  chmodSync(dir, 0o700);
}

/** Each deployment's key pairs, and the allow-list folder that admits the pair's public key at the broker. */
export const DEPLOYMENT_KEYS = [
  { name: 'broker', allowList: undefined },
  { name: 'worker', allowList: 'workers' },
  { name: 'client', allowList: 'clients' },
] as const;

/**
 * What the deployments mount (docker/README.md, "CURVE"): `broker`, `worker`, `client` key pairs,
 * and the allow-lists `workers/` and `clients/` holding the worker's and the client's public key.
 * Creates only what is missing; returns the files it wrote.
 */
export function ensureDeploymentKeys(dir: string): string[] {
  privateFolder(dir);
  const written: string[] = [];
  for (const { name, allowList } of DEPLOYMENT_KEYS) {
    if (!existsSync(join(dir, `${name}.key`))) written.push(...writeKeyPair(dir, name));
    if (!allowList) continue;
    const folder = join(dir, allowList);
    if (existsSync(folder)) continue;
    mkdirSync(folder, { mode: 0o755 });
    copyFileSync(join(dir, `${name}.pub`), join(folder, `${name}.pub`));
    written.push(join(folder, `${name}.pub`));
  }
  return written;
}

/** The broker's public key in a folder of deployment keys (its `broker.pub`): what clients are given. */
export function deploymentBrokerKey(dir: string): string {
  const file = join(dir, 'broker.pub');
  return publicKeyFromText(readFileSync(file, 'utf8'), file);
}
