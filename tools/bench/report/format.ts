/** How every experiment's figures are written: sizes, numbers, spreads, and tables as text and as Markdown. */
import type { Spread } from '../stats';
import type { Compared } from './runs';

export const sizeLabel = (b: number): string =>
  b >= 1024 ** 2 && b % 1024 ** 2 === 0 ? `${b / 1024 ** 2} MiB` : b >= 1024 && b % 1024 === 0 ? `${b / 1024} KiB` : `${b} B`;

/** `v` with `d` decimals and thousands separators, or `–` when it is not a number. */
export const num = (v: number, d = 0): string =>
  Number.isFinite(v) ? v.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d }) : '–';

/** A target's verdict, as every check line says it. */
export const verdict = (ok: boolean): string => (ok ? 'met' : 'NOT met');

/** The median alone. */
export const fmtMedian = (s: Spread | undefined, d = 0): string => num(s?.median ?? NaN, d);

/** `median [min–max]`, or just the median when there is one repetition. */
export const fmtSpread = (s: Spread | undefined, d = 0): string =>
  !s || s.n === 0 ? '–' : s.n === 1 ? num(s.median, d) : `${num(s.median, d)} [${num(s.min, d)}–${num(s.max, d)}]`;

/** Two medians as `a / b` (e.g. p50 / p99). */
export const pair = (a: Spread | undefined, b: Spread | undefined, d = 2): string => `${fmtMedian(a, d)} / ${fmtMedian(b, d)}`;

/** A comparison's two cells: `a / b` medians, then the paired ratio with its spread. */
export const comparedCells = (c: Compared, digits: number): string[] => [pair(c.a, c.b, digits), fmtSpread(c.ratio, 2)];

export interface Table {
  title: string;
  head: string[];
  rows: string[][];
  notes?: string[];
}

/** For stdout: the first two columns left-aligned, the figures right-aligned. */
export function textTable(t: Table): string {
  const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [
    t.title,
    line(t.head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...t.rows.map(line),
    ...(t.notes ?? []).map((n) => `  ${n}`),
  ].join('\n');
}

/** For results.md: the title in bold, the table, its notes as a list. */
export function markdownTable(t: Table): string {
  const esc = (c: string) => c.replace(/\|/g, '\\|');
  return [
    `**${t.title}**`,
    '',
    `| ${t.head.map(esc).join(' | ')} |`,
    `| ${t.head.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...t.rows.map((r) => `| ${r.map(esc).join(' | ')} |`),
    ...(t.notes?.length ? ['', ...t.notes.map((n) => `- ${n}`)] : []),
  ].join('\n');
}
