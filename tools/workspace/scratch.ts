import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { workspaceRoot } from '@tsr/testing';
import { oneOffNxEnv } from './nx-env';

/**
 * A throwaway copy of this workspace (its tracked files as they are now, node_modules linked) in
 * its own git repository with a `main` branch, where a test can commit a change on a scratch
 * branch and ask Nx what it affects, without touching the real repository or its refs.
 */
export class ScratchWorkspace {
  readonly dir = mkdtempSync(join(tmpdir(), 'tsr-scratch-'));

  constructor() {
    const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
      cwd: workspaceRoot,
      encoding: 'utf8',
    })
      .split('\0')
      .filter(Boolean);
    for (const file of files) {
      mkdirSync(dirname(join(this.dir, file)), { recursive: true });
      try {
        cpSync(join(workspaceRoot, file), join(this.dir, file));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e; // deleted, not yet committed
      }
    }
    symlinkSync(join(workspaceRoot, 'node_modules'), join(this.dir, 'node_modules'));
    this.git('init', '-q', '-b', 'main');
    this.git('add', '-A');
    this.commit('base');
  }

  git(...args: string[]): string {
    return execFileSync('git', args, {
      cwd: this.dir,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 'scratch',
        GIT_AUTHOR_EMAIL: 'scratch@localhost',
        GIT_COMMITTER_NAME: 'scratch',
        GIT_COMMITTER_EMAIL: 'scratch@localhost',
      },
    }).trim();
  }

  commit(message: string): void {
    this.git('commit', '-q', '--allow-empty', '--no-verify', '-m', message);
  }

  /** The tasks `nx affected -t <targets>` would run between `base` and HEAD (its task graph, nothing runs). */
  affectedTasks(base: string, targets: readonly string[]): string[] {
    const out = execFileSync('npx', ['nx', 'affected', '-t', ...targets, `--base=${base}`, '--head=HEAD', '--graph=stdout'], {
      cwd: this.dir,
      encoding: 'utf8',
      env: oneOffNxEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
    return Object.keys(JSON.parse(out).tasks.tasks).sort();
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
