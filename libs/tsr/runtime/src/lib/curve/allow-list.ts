import { type FSWatcher, readFileSync, readdirSync, statSync, watch } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { ConfigError, errorCode } from '../errors';
import { publicKeysFromText } from './keys';

function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${errorCode(e)}`);
  }
}

/**
 * The public keys an allow-list admits. A file holds keys (public key files' text, or one bare
 * key per line); a directory holds such files, one per peer, and every regular file in it counts
 * but hidden ones (a Kubernetes Secret volume keeps its versions in `..data` and `..<timestamp>`).
 */
export function readAllowList(path: string): Set<string> {
  let isDirectory: boolean;
  try {
    isDirectory = statSync(path).isDirectory();
  } catch (e) {
    throw new ConfigError(`cannot read allow-list ${path}: ${errorCode(e)}`);
  }
  const files = isDirectory
    ? readdirSync(path)
        .filter((name) => !name.startsWith('.'))
        .sort()
        .map((name) => join(path, name))
        .filter((file) => statSync(file, { throwIfNoEntry: false })?.isFile())
    : [path];
  return new Set(files.flatMap((file) => publicKeysFromText(readText(file), file)));
}

/**
 * Calls `changed` (debounced) when anything may have changed the allow-list at `path`: it watches
 * the path and the folder holding it, so a file replaced by a rename (editors, `kubectl` updating a
 * Secret volume by swapping a symlink) is noticed as well as one written in place. `rearm` after
 * each reload: a watched directory that was swapped out must be watched anew.
 */
export class AllowListWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly path: string,
    private readonly changed: () => void,
    private readonly debounceMs = 100,
  ) {}

  rearm(): void {
    this.stopWatching();
    for (const target of [this.path, dirname(this.path)]) {
      try {
        const watcher = watch(target, { persistent: false }, (_event, file) => {
          if (target === this.path || file === null || file === basename(this.path) || file.startsWith('..')) this.schedule();
        });
        watcher.on('error', () => this.schedule());
        this.watchers.push(watcher);
      } catch {
        // not there (yet): SIGHUP or the other watch will do
      }
    }
  }

  close(): void {
    clearTimeout(this.timer);
    this.stopWatching();
  }

  private schedule(): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(this.changed, this.debounceMs);
    this.timer.unref();
  }

  private stopWatching(): void {
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
