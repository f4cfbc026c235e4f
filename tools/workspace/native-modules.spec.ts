import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { keep, stageNativeModules } from '../docker/stage-native-modules';

describe("the images' native module, staged (tools/docker/stage-native-modules.ts)", () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), 'tsr-native-')));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is sodium-native with all it needs: it loads and boxes from a folder no other node_modules is reachable from', () => {
    const staged = stageNativeModules(join(dir, 'node_modules'), 'linux-x64');
    expect(staged).toContain('sodium-native');
    const sodium = createRequire(join(dir, 'app', 'main.js'))('sodium-native') as {
      crypto_secretbox_easy(c: Buffer, m: Buffer, n: Buffer, k: Buffer): void;
      crypto_secretbox_open_easy(m: Buffer, c: Buffer, n: Buffer, k: Buffer): boolean;
    };
    const [key, nonce, box, plain] = [Buffer.alloc(32, 1), Buffer.alloc(24, 2), Buffer.alloc(21), Buffer.alloc(5)];
    sodium.crypto_secretbox_easy(box, Buffer.from('hello'), nonce, key);
    expect(sodium.crypto_secretbox_open_easy(plain, box, nonce, key)).toBe(true);
    expect(plain.toString()).toBe('hello');
    // loaded from the staged folder, not the workspace's
    expect(Object.keys(require.cache).some((p) => p.startsWith(join(dir, 'node_modules', 'sodium-native')))).toBe(true);
  });

  it("holds one platform's addon, and no C sources or Bare addons", () => {
    const files = (readdirSync(join(dir, 'node_modules'), { recursive: true }) as string[]).map((f) => relative('.', f));
    expect(files.filter((f) => f.endsWith('.node'))).toEqual([join('sodium-native', 'prebuilds', 'linux-x64', 'sodium-native.node')]);
    expect(files.filter((f) => /\.(bare|c|cc|h)$/.test(f))).toEqual([]);
  });

  it('keeps what a package runs, drops the rest', () => {
    expect(keep('index.js', 'linux-x64')).toBe(true);
    expect(keep(join('prebuilds', 'linux-x64', 'sodium-native.node'), 'linux-x64')).toBe(true);
    expect(keep(join('prebuilds', 'darwin-arm64'), 'linux-x64')).toBe(false);
    expect(keep(join('prebuilds', 'linux-x64', 'sodium-native.bare'), 'linux-x64')).toBe(false);
    expect(keep(join('deps', 'libsodium'), 'linux-x64')).toBe(false);
    expect(keep('binding.cc', 'linux-x64')).toBe(false);
  });
});
