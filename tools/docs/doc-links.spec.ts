// The README and docs/*.md link to files of the repository and to headings in them: every relative
// link must name a file that exists and, with a #fragment, a heading that file has (GitHub's anchors).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { workspaceRoot } from '@tsr/testing';

const documents = [
  'README.md',
  ...readdirSync(join(workspaceRoot, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** Markdown without its fenced code blocks, where a `# x` is no heading and a `[x](y)` no link. */
const unfenced = (text: string) => text.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '');
/** ... and without inline code either. */
const prose = (text: string) => unfenced(text).replace(/`[^`\n]*`/g, '');

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens; repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of unfenced(markdown).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[*_`]/g, (c) => (c === '_' ? c : ''));
    const slug = text
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n ? `${slug}-${n}` : slug);
  }
  return out;
}

/** Every relative link of a document: [text](target) and [text](target "title"). */
function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]).filter((t) => !/^[a-z]+:/i.test(t));
}

describe('links in the README and docs/', () => {
  it.each(documents)('%s: every relative link names a file that exists, and a heading it has', (document) => {
    const broken: string[] = [];
    const text = readFileSync(join(workspaceRoot, document), 'utf8');
    for (const link of links(text)) {
      const [path, fragment] = link.split('#');
      const target = path ? join(workspaceRoot, dirname(document), decodeURI(path)) : join(workspaceRoot, document);
      if (!existsSync(target)) {
        broken.push(`${link}: no ${relative(workspaceRoot, target)}`);
      } else if (fragment !== undefined && target.endsWith('.md') && !anchors(readFileSync(target, 'utf8')).has(fragment)) {
        broken.push(`${link}: no heading #${fragment} in ${relative(workspaceRoot, target)}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('reads anchors as GitHub makes them', () => {
    expect([...anchors("# A\n## Sockets: ZMTP on Node's TCP\n### The `image` target\n```\n# not a heading\n```\n## A\n")]).toEqual([
      'a',
      'sockets-zmtp-on-nodes-tcp',
      'the-image-target',
      'a-1',
    ]);
  });
});
