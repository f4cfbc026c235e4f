// `nx release` for the library packages, as a dry run: the version step plans the new version in
// both manifests (released together), the changelog step the CHANGELOG's new section (its
// "Unreleased" notes and the commits), and the publish step builds each package and shows the
// tarball npm would publish. The registry is a closed port on loopback: nothing leaves the machine.
import { execFileSync } from 'node:child_process';
import { stripVTControlCharacters } from 'node:util';
import { workspaceRoot } from '@tsr/testing';
import { areaOf } from '../release/changelog-renderer';
import { oneOffNxEnv } from './nx-env';

// Without colours, whatever the runner asks for (Nx sets FORCE_COLOR for its tasks).
const nx = (...args: string[]) =>
  stripVTControlCharacters(
    execFileSync('npx', ['nx', 'release', ...args, '--dry-run', '--verbose=false'], {
      cwd: workspaceRoot,
      encoding: 'utf8',
      env: {
        ...oneOffNxEnv(),
        npm_config_registry: 'http://127.0.0.1:9/',
        npm_config_fetch_retries: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 16 * 1024 * 1024,
    }),
  );

const status = () => execFileSync('git', ['status', '--porcelain'], { cwd: workspaceRoot, encoding: 'utf8' });

describe('nx release (dry run)', () => {
  it('versions @tsr-broker/worker and @tsr-broker/client together, in their manifests, and changes nothing', () => {
    const before = status();
    const out = nx('version', '9.8.7');
    for (const manifest of ['libs/worker/package.json', 'libs/client/package.json']) {
      expect(out).toContain(`New version 9.8.7 written to manifest: ${manifest}`);
    }
    expect(out).toMatch(/Applied version 9\.8\.7 directly, because the project is a member of a fixed release group/);
    expect(out.match(/\+\s+"version": "9\.8\.7"/g)).toHaveLength(2);
    expect(status()).toBe(before);
  });

  it('writes the CHANGELOG from its "Unreleased" notes and the commits since the last release, and changes nothing', () => {
    const before = status();
    const out = nx('changelog', '9.8.7', '--replace-existing-contents');
    const subject = execFileSync('git', ['log', '-1', '--no-merges', '--format=%s'], { cwd: workspaceRoot, encoding: 'utf8' }).trim();
    const hash = execFileSync('git', ['log', '-1', '--no-merges', '--format=%h'], { cwd: workspaceRoot, encoding: 'utf8' }).trim();
    expect(out).toMatch(/^\+ ## 9\.8\.7 \(\d{4}-\d{2}-\d{2}\)$/m);
    expect(out).toMatch(/^\+ ### Commits$/m);
    // The newest commit, under its area, with its hash (a subject cut to one line ends in …).
    const { text } = areaOf(subject);
    expect(out).toContain(`+ - ${text.replace(/ …$/, '')}`);
    expect(out).toContain(`(${hash})`);
    expect(status()).toBe(before);
  });

  it('refuses to write the CHANGELOG any other way (Nx would put the file before itself)', () => {
    const said = (() => {
      try {
        return `did not fail: ${nx('changelog', '9.8.7')}`;
      } catch (e) {
        const { message, stdout } = e as Error & { stdout?: string };
        return `${message}\n${stdout ?? ''}`;
      }
    })();
    expect(said).toContain('run `npm run changelog -- <version>`');
  });

  it('publishes each package from its build in dist: the bundle, its declarations and README, nothing else', () => {
    const out = nx('publish');
    for (const name of ['@tsr-broker/worker', '@tsr-broker/client']) {
      const [, contents] =
        new RegExp(`📦\\s+${name.replace('/', '\\/')}@\\S+\\n[^\\n]*Tarball Contents[^\\n]*\\n([^]*?)\\n[^\\n]*Tarball Details`).exec(
          out,
        ) ?? [];
      const files = (contents ?? '')
        .split('\n')
        .map((line) => line.trim().split(/\s+/).pop())
        .filter(Boolean);
      expect({ name, files: files.sort() }).toEqual({
        name,
        files: ['LICENSE', 'README.md', 'index.d.ts', 'index.js', 'index.js.map', 'package.json'],
      });
    }
    expect(out.match(/Would publish to http:\/\/127\.0\.0\.1:9\/ with tag "latest"/g)).toHaveLength(2);
  });
});
