// CURVE keys for the broker, workers and clients (docs/operations.md, "CURVE: only trusted peers").
//   keygen [--dir DIR]              the deployments' keys that are missing, in DIR (default docker/secrets)
//   keygen --pair NAME [--dir DIR]  one new key pair: DIR/NAME.key (secret) and DIR/NAME.pub
import { parseArgs } from 'node:util';
import { ConfigError, ensureDeploymentKeys, writeKeyPair } from '@tsr/runtime';

const USAGE = 'usage: keygen [--dir DIR] | keygen --pair NAME [--dir DIR]   (DIR default docker/secrets)';

try {
  const { values } = parseArgs({
    options: { dir: { type: 'string', default: 'docker/secrets' }, pair: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
  } else if (values.pair !== undefined) {
    process.stdout.write(`wrote ${writeKeyPair(values.dir, values.pair).join(' and ')}\n`);
  } else {
    const written = ensureDeploymentKeys(values.dir);
    process.stdout.write(written.length ? `wrote ${written.join(', ')}\n` : `${values.dir}: every key is there, nothing written\n`);
  }
} catch (e) {
  const usage = e instanceof ConfigError ? '' : `\n${USAGE}`;
  process.stderr.write(`keygen: ${(e as Error).message.split('\n')[0]}${usage}\n`);
  process.exit(2);
}
