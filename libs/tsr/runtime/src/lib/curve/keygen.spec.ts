import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAllowList } from './allow-list';
import { keyPairFromText, publicKeyFromText } from './keys';
import { deploymentBrokerKey, ensureDeploymentKeys, writeKeyPair } from './keygen';

describe('keygen', () => {
  let dir: string;
  beforeEach(() => (dir = join(mkdtempSync(join(tmpdir(), 'tsr-keygen-')), 'secrets')));
  afterEach(() => rmSync(join(dir, '..'), { recursive: true, force: true }));

  it('writes a key pair and its public key into a private folder, and never overwrites one', () => {
    const [key, pub] = writeKeyPair(dir, 'w1');
    const pair = keyPairFromText(readFileSync(key, 'utf8'), key);
    expect(publicKeyFromText(readFileSync(pub, 'utf8'), pub)).toBe(pair.publicKey);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(() => writeKeyPair(dir, 'w1')).toThrow(/already exist/);
    expect(() => writeKeyPair(dir, '../evil')).toThrow(/letters, digits/);
  });

  it("creates the deployments' keys and allow-lists, only those missing", () => {
    const first = ensureDeploymentKeys(dir).map((f) => f.slice(dir.length + 1));
    expect(first).toEqual([
      'broker.key',
      'broker.pub',
      'worker.key',
      'worker.pub',
      'workers/worker.pub',
      'client.key',
      'client.pub',
      'clients/client.pub',
    ]);
    const worker = keyPairFromText(readFileSync(join(dir, 'worker.key'), 'utf8'), 'worker.key');
    expect([...readAllowList(join(dir, 'workers'))]).toEqual([worker.publicKey]);
    const broker = readFileSync(join(dir, 'broker.key'), 'utf8');
    expect(deploymentBrokerKey(dir)).toBe(keyPairFromText(broker, 'broker.key').publicKey);
    expect(ensureDeploymentKeys(dir)).toEqual([]);
    rmSync(join(dir, 'client.key'));
    rmSync(join(dir, 'client.pub'));
    expect(ensureDeploymentKeys(dir).map((f) => f.slice(dir.length + 1))).toEqual(['client.key', 'client.pub']);
    expect(readFileSync(join(dir, 'broker.key'), 'utf8')).toBe(broker);
  });
});
