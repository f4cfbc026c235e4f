/**
 * The commands that redo a run, for its results.md: the other build it measured (rebuilt from its
 * commit in a worktree of its own, since the directory it ran from will not be there), then the
 * command with that build's path in it.
 */

export interface OtherBuild {
  /** How results.md names it, with its flag: e.g. `The build before (--before-dist)`. */
  name: string;
  /** The directory the run was given, as it appears in the command. */
  dir: string;
  /** Its commit (short). */
  commit: string;
  /** sha256 (first 12 hex digits) of each of its apps. */
  sha256: Record<string, string>;
  /** Where it is rebuilt, and what of the rebuilt worktree the command is given (`dist`, `dist/apps`). */
  worktree: string;
  given: string;
}

/**
 * Lines of Markdown: how to rebuild `other` (when the run had one) and the command, in a shell
 * block; `needs`, when given, says first what the machine must have besides. Nothing when there is
 * neither: the command line at the top of results.md says it all.
 */
export function redoLines(command: string, other: OtherBuild | undefined, needs?: string): string[] {
  if (!other && !needs) return [];
  const build = other
    ? [
        `git worktree add --detach ${other.worktree} ${other.commit} && ln -s "$PWD/node_modules" ${other.worktree}/node_modules`,
        `(cd ${other.worktree} && npx nx run-many -t build -p broker worker client)`,
      ]
    : [];
  const hashes = other
    ? Object.entries(other.sha256)
        .map(([a, h]) => `${a} ${h}`)
        .join(', ')
    : '';
  return [
    ...(needs ? [`To redo it: ${needs}.`, ''] : []),
    ...(other ? [`${other.name} is git ${other.commit}, apps sha256 ${hashes}; to build it again:`, ''] : []),
    '```sh',
    ...build,
    other ? command.replace(other.dir, `${other.worktree}/${other.given}`) : command,
    '```',
    '',
  ];
}
