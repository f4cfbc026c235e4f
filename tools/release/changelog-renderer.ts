// The CHANGELOG's next release, made by `nx release changelog` from what the file says by hand and
// from the commits (nx.json names this file as the workspace changelog's renderer). CHANGELOG.md
// keeps, under "## Unreleased", what users must do or know (written as changes are made: the
// commits say why, that section says what to do). A release turns that section into
// the version's own, adds every commit since the last release under it, grouped by the area its
// subject names ("Broker: ...", "Docs: ..."), and opens an empty "Unreleased" section again.
// One self-contained file with only erasable TypeScript: Nx loads it with Node's own type stripping.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** A commit as the release lists it. */
export interface ReleasedCommit {
  subject: string;
  shortHash?: string;
}

const UNRELEASED = '## Unreleased';
const NOTHING_YET = '(nothing yet)';
/** The area a subject names: one to three words before its first colon (not a sentence that holds one). */
const AREA = /^([A-Za-z][\w./@*-]*(?: [\w./@*-]+){0,2}):\s+(.+)$/s;
const LONGEST_LINE = 200;

/** A subject's area ('Other' for none) and the rest of it, cut to one line of at most LONGEST_LINE characters. */
export function areaOf(subject: string): { area: string; text: string } {
  const match = AREA.exec(subject.trim());
  const [area, text] = match ? [match[1], match[2]] : ['Other', subject.trim()];
  const flat = text.replace(/\s+/g, ' ');
  if (flat.length <= LONGEST_LINE) return { area, text: flat };
  const cut = flat.slice(0, LONGEST_LINE);
  return { area, text: `${cut.slice(0, Math.max(cut.lastIndexOf(' '), LONGEST_LINE / 2))} …` };
}

/** The commits by area, areas in alphabetical order (Other last), commits newest first as given; merges left out. */
export function commitSections(commits: readonly ReleasedCommit[]): string {
  const byArea = new Map<string, string[]>();
  for (const { subject, shortHash } of commits) {
    if (/^Merge (branch|remote-tracking branch|pull request) /.test(subject)) continue;
    const { area, text } = areaOf(subject);
    const lines = byArea.get(area) ?? [];
    lines.push(`- ${text}${shortHash ? ` (${shortHash})` : ''}`);
    byArea.set(area, lines);
  }
  const areas = [...byArea.keys()].sort((a, b) => (a === 'Other' ? 1 : b === 'Other' ? -1 : a.localeCompare(b)));
  return areas.map((area) => `#### ${area}\n\n${(byArea.get(area) ?? []).join('\n')}`).join('\n\n');
}

/**
 * The whole CHANGELOG.md after releasing `version` on `date` (YYYY-MM-DD): its head as it was, an
 * empty "Unreleased" section, the version's section (what "Unreleased" said, then "### Commits"),
 * and the earlier releases as they were. Throws where the file has no "Unreleased" section or
 * already has this version.
 */
export function releasedChangelog(existing: string, version: string, date: string, commits: readonly ReleasedCommit[]): string {
  const start = existing.indexOf(`\n${UNRELEASED}\n`);
  if (start < 0) throw new Error(`CHANGELOG.md has no "${UNRELEASED}" section to release`);
  if (new RegExp(`^## ${version.replace(/\./g, '\\.')}(\\s|$)`, 'm').test(existing)) {
    throw new Error(`CHANGELOG.md already has a section for ${version}`);
  }
  const bodyStart = start + UNRELEASED.length + 2;
  const next = existing.indexOf('\n## ', bodyStart);
  const notes = existing.slice(bodyStart, next < 0 ? undefined : next).trim();
  const earlier = next < 0 ? '' : existing.slice(next + 1).trimEnd();
  const sections = [
    existing.slice(0, start + 1).trimEnd(),
    `${UNRELEASED}\n\n${NOTHING_YET}`,
    `## ${version} (${date})`,
    ...(notes && notes !== NOTHING_YET ? [notes] : []),
    `### Commits\n\n${commitSections(commits) || '(none)'}`,
    ...(earlier ? [earlier] : []),
  ];
  return `${sections.join('\n\n')}\n`;
}

/** What Nx hands a changelog renderer (the part used here). */
interface RendererConfig {
  changelogEntryVersion: string;
}

/** Nx prepends what a renderer returns unless told to replace the file: this one returns the whole file. */
const replacing = (argv: readonly string[]): boolean => argv.some((arg) => /^--replace-?existing-?contents(=true)?$/i.test(arg));

/** The workspace Nx runs in: the nearest folder up from `dir` with an nx.json (as Nx finds it). */
function workspaceOf(dir: string): string {
  for (let at = dir; ; at = dirname(at)) {
    if (existsSync(join(at, 'nx.json'))) return at;
    if (dirname(at) === at) return dir;
  }
}

/**
 * The commits since the last release: from the newest tag of nx.json's release tag pattern that
 * HEAD descends from, or all of them before the first. Read here, not from the changes Nx hands a
 * renderer: Nx parses "Broker: ..." as a conventional commit of type "Broker", unknown, and drops it.
 */
export function commitsSinceLastRelease(root: string): ReleasedCommit[] {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const pattern: string = JSON.parse(readFileSync(join(root, 'nx.json'), 'utf8')).release.releaseTag.pattern;
  let last: string | undefined;
  try {
    last = git('describe', '--tags', '--abbrev=0', '--match', pattern.replace('{version}', '*'), 'HEAD').trim();
  } catch {
    last = undefined; // no release yet
  }
  return git('log', '--no-merges', '--format=%h%x09%s', last ? `${last}..HEAD` : 'HEAD')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      return { shortHash: line.slice(0, tab), subject: line.slice(tab + 1) };
    });
}

/** The renderer Nx loads (nx.json release.changelog.workspaceChangelog.renderer). */
export default class ReleasedChangelogRenderer {
  private readonly config: RendererConfig;

  constructor(config: RendererConfig) {
    this.config = config;
  }

  async render(): Promise<string> {
    if (!replacing(process.argv)) {
      throw new Error(
        'this renderer writes the whole CHANGELOG.md: run `npm run changelog -- <version>` (nx release changelog --replace-existing-contents)',
      );
    }
    const root = workspaceOf(process.cwd());
    const existing = readFileSync(join(root, 'CHANGELOG.md'), 'utf8');
    const today = new Date().toISOString().slice(0, 10);
    return releasedChangelog(existing, this.config.changelogEntryVersion, today, commitsSinceLastRelease(root));
  }
}
