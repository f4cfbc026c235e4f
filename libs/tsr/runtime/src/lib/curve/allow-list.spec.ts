import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { curveKeyPair } from 'zeromq';
import { AllowListWatcher, readAllowList } from './allow-list';
import { keyPairFileText, publicKeyFileText } from './keys';

const until = async (what: string, check: () => boolean, ms = 3000) => {
  for (const end = Date.now() + ms; !check(); await new Promise((r) => setTimeout(r, 20)))
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
};

describe('allow-lists', () => {
  let dir: string;
  const [a, b, c] = [curveKeyPair(), curveKeyPair(), curveKeyPair()];
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'tsr-allow-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file of keys, and a folder of public key files but hidden files and subfolders', () => {
    writeFileSync(join(dir, 'list'), `# two workers\n${a.publicKey}\n${publicKeyFileText(b.publicKey, 'b')}`);
    expect(readAllowList(join(dir, 'list'))).toEqual(new Set([a.publicKey, b.publicKey]));
    const folder = join(dir, 'workers');
    mkdirSync(join(folder, 'sub'), { recursive: true });
    writeFileSync(join(folder, 'a.pub'), publicKeyFileText(a.publicKey, 'a'));
    writeFileSync(join(folder, '.hidden'), publicKeyFileText(c.publicKey, 'c'));
    writeFileSync(join(folder, 'sub', 'c.pub'), publicKeyFileText(c.publicKey, 'c'));
    expect(readAllowList(folder)).toEqual(new Set([a.publicKey]));
  });

  it('refuses a missing list, a secret key and a line that is no key, naming the file', () => {
    expect(() => readAllowList(join(dir, 'none'))).toThrow(`cannot read allow-list ${join(dir, 'none')}: ENOENT`);
    writeFileSync(join(dir, 'oops.key'), keyPairFileText(a, 'a'));
    expect(() => readAllowList(dir)).toThrow(`${join(dir, 'oops.key')} holds a secret key`);
    writeFileSync(join(dir, 'oops.key'), 'not a key\n');
    expect(() => readAllowList(dir)).toThrow(`${join(dir, 'oops.key')} line 1: neither a key nor a comment`);
  });

  it('notices a file written in place, a file replaced by a rename, a file added to a folder, and a Kubernetes Secret update', async () => {
    let changes = 0;
    const watch = (path: string) => {
      const w = new AllowListWatcher(path, () => (changes++, w.rearm()), 20);
      w.rearm();
      return w;
    };
    const list = join(dir, 'list');
    writeFileSync(list, a.publicKey);
    const fileWatch = watch(list);
    try {
      writeFileSync(list, `${a.publicKey}\n${b.publicKey}`);
      await until('an in-place write', () => changes === 1);
      writeFileSync(join(dir, 'list.new'), a.publicKey);
      renameSync(join(dir, 'list.new'), list);
      await until('a rename', () => changes === 2);
    } finally {
      fileWatch.close();
    }
    // A Secret volume: `workers -> ..data/workers`, `..data -> ..v1`; an update writes `..v2` and swaps `..data`.
    const volume = join(dir, 'volume');
    mkdirSync(join(volume, '..v1', 'workers'), { recursive: true });
    writeFileSync(join(volume, '..v1', 'workers', 'a.pub'), a.publicKey);
    symlinkSync('..v1', join(volume, '..data'));
    symlinkSync(join('..data', 'workers'), join(volume, 'workers'));
    const folder = join(volume, 'workers');
    expect(readAllowList(folder)).toEqual(new Set([a.publicKey]));
    changes = 0;
    const secretWatch = watch(folder);
    try {
      mkdirSync(join(volume, '..v2', 'workers'), { recursive: true });
      writeFileSync(join(volume, '..v2', 'workers', 'c.pub'), c.publicKey);
      symlinkSync('..v2', join(volume, '..data_tmp'));
      renameSync(join(volume, '..data_tmp'), join(volume, '..data'));
      await until('a Secret update', () => changes >= 1);
      expect(readAllowList(folder)).toEqual(new Set([c.publicKey]));
      const before = changes;
      writeFileSync(join(volume, '..v2', 'workers', 'a.pub'), a.publicKey); // the new folder is watched now
      await until('a file added after the swap', () => changes > before);
    } finally {
      secretWatch.close();
    }
  });
});
