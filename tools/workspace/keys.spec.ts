// CURVE keys never reach git or an image: where keygen writes them is ignored by both, and no
// tracked file holds a secret key.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { workspaceRoot } from '@tsr/testing';

const git = (...args: string[]) => execFileSync('git', args, { cwd: workspaceRoot, encoding: 'utf8' });

describe('CURVE keys and the repository', () => {
  it("ignores keygen's folder in git, and tracks no file in it", () => {
    expect(git('check-ignore', 'docker/secrets/broker.key', 'docker/secrets/workers/worker.pub').trim().split('\n')).toHaveLength(2);
    expect(git('ls-files', 'docker/secrets')).toBe('');
  });

  it('tracks no secret key (a zcert secret-key line with a key in it)', () => {
    // git grep exits 1 when nothing matches.
    const grep = spawnSync('git', ['grep', '-lE', 'secret-key *= *"[0-9A-Za-z.:+=^!/*?&<>()[{}@%#-]{40}"', '--', '.'], {
      cwd: workspaceRoot,
      encoding: 'utf8',
    });
    expect({ status: grep.status, files: grep.stdout.trim() }).toEqual({ status: 1, files: '' });
  });

  it('sends nothing of docker/secrets to an image build: the build context admits only what the images copy', () => {
    const dockerignore = readFileSync(join(workspaceRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim());
    expect(dockerignore.filter((l) => l && !l.startsWith('#'))[0]).toBe('*');
    expect(dockerignore.filter((l) => l.startsWith('!') && /secrets|\.key|\.pub/.test(l))).toEqual([]);
  });
});
