// The CHANGELOG's release step (tools/release/changelog-renderer.ts), on a file of its own shape.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ReleasedChangelogRenderer, {
  areaOf,
  commitSections,
  commitsSinceLastRelease,
  releasedChangelog,
} from '../release/changelog-renderer';

// The file's parts: its head, what "Unreleased" says, and the releases before.
const head = '# Changelog\n\nWhat changed, newest first.\n';
const notes = '### Changed (update your configuration)\n- `--max-message` is `--max-request`.\n';
const earlier = '## 1.0.0\n\nThe first release.\n';
const changelog = [head, '## Unreleased\n', notes, earlier].join('\n');

const commits = [
  { subject: 'Broker: answers are not dropped', shortHash: 'aaa1111' },
  { subject: "Merge branch 'wt-x'", shortHash: 'bbb2222' },
  { subject: 'Docs: the protocol', shortHash: 'ccc3333' },
  { subject: 'A request whose turn comes when its client is gone is dropped: counted', shortHash: 'ddd4444' },
  { subject: 'Broker: one heartbeat', shortHash: 'eee5555' },
];

describe('the CHANGELOG released from its "Unreleased" notes and the commits', () => {
  it('reads the area a subject names, one to three words before a colon, else Other; one line, cut long', () => {
    expect(areaOf('Bench --encrypted report: CPU per request')).toEqual({ area: 'Bench --encrypted report', text: 'CPU per request' });
    expect(areaOf('A request whose turn comes is dropped: counted')).toEqual({
      area: 'Other',
      text: 'A request whose turn comes is dropped: counted',
    });
    expect(areaOf('no area at all')).toEqual({ area: 'Other', text: 'no area at all' });
    const long = areaOf(`Broker: ${'word '.repeat(100)}\n and more`);
    expect(long.text.length).toBeLessThanOrEqual(202);
    expect(long.text).toMatch(/^word( word)+ …$/);
  });

  it('groups the commits by area (Other last), keeps their order and hashes, and leaves merges out', () => {
    expect(commitSections(commits)).toBe(
      [
        '#### Broker',
        '',
        '- answers are not dropped (aaa1111)',
        '- one heartbeat (eee5555)',
        '',
        '#### Docs',
        '',
        '- the protocol (ccc3333)',
        '',
        '#### Other',
        '',
        '- A request whose turn comes when its client is gone is dropped: counted (ddd4444)',
      ].join('\n'),
    );
  });

  it('turns "Unreleased" into the version (notes, then commits), opens an empty one, keeps the head and the earlier releases', () => {
    const released = releasedChangelog(changelog, '1.1.0', '2026-12-07', commits.slice(0, 1));
    expect(released).toBe(
      [
        head,
        '## Unreleased\n\n(nothing yet)\n',
        '## 1.1.0 (2026-12-07)\n',
        notes,
        '### Commits\n\n#### Broker\n\n- answers are not dropped (aaa1111)\n',
        earlier,
      ].join('\n'),
    );
    // The next release starts from the empty section: no notes, only its commits.
    const next = releasedChangelog(released, '1.2.0', '2026-12-08', commits.slice(2, 3));
    expect(next).toContain(
      '## Unreleased\n\n(nothing yet)\n\n## 1.2.0 (2026-12-08)\n\n### Commits\n\n#### Docs\n\n- the protocol (ccc3333)\n\n## 1.1.0',
    );
  });

  it('refuses a file without "Unreleased", and a version it already has', () => {
    expect(() => releasedChangelog('# Changelog\n\n## 1.0.0\n', '1.1.0', '2026-12-07', [])).toThrow(/no "## Unreleased" section/);
    expect(() => releasedChangelog(changelog, '1.0.0', '2026-12-07', [])).toThrow(/already has a section for 1\.0\.0/);
  });

  it('lists the commits since the last release tag (nx.json pattern), all of them before the first, never merges', () => {
    const repo = mkdtempSync(join(tmpdir(), 'changelog-'));
    const git = (...args: string[]) =>
      execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', '-c', 'commit.gpgsign=false', ...args], {
        cwd: repo,
        encoding: 'utf8',
      });
    try {
      git('init', '-q', '-b', 'main');
      writeFileSync(join(repo, 'nx.json'), JSON.stringify({ release: { releaseTag: { pattern: 'libs-v{version}' } } }));
      git('add', '.');
      git('commit', '-q', '-m', 'Workspace: the first');
      git('commit', '-q', '--allow-empty', '-m', 'Broker: before the release');
      expect(commitsSinceLastRelease(repo).map((c) => c.subject)).toEqual(['Broker: before the release', 'Workspace: the first']);
      git('tag', 'libs-v1.0.0');
      git('tag', 'other-v2.0.0');
      git('checkout', '-q', '-b', 'side');
      git('commit', '-q', '--allow-empty', '-m', 'Docs: on a branch');
      git('checkout', '-q', 'main');
      git('commit', '-q', '--allow-empty', '-m', 'Worker: after it');
      git('merge', '-q', '--no-ff', '-m', "Merge branch 'side'", 'side');
      const since = commitsSinceLastRelease(repo);
      expect(since.map((c) => c.subject).sort()).toEqual(['Docs: on a branch', 'Worker: after it']);
      expect(since.find((c) => c.subject === 'Worker: after it')?.shortHash).toBe(git('rev-parse', '--short', 'HEAD^1').trim());
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });

  it('as Nx calls it: refuses to render unless Nx replaces the file with what it returns', async () => {
    const renderer = new ReleasedChangelogRenderer({ changelogEntryVersion: '9.9.9' });
    await expect(renderer.render()).rejects.toThrow(/--replace-existing-contents/);
  });
});
