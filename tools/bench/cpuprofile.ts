/**
 * Reads a V8 `.cpuprofile` (what `node --cpu-prof` writes) and says where the time went: self time
 * per function and per category (our bundle, zeromq's JS, native calls into the zeromq addon, Node
 * internals, GC, the event loop and idle).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export type Category = 'ours' | 'zeromq-js' | 'native' | 'node' | 'gc' | 'program' | 'idle' | 'other';

export const categoryLabel: Record<Category, string> = {
  ours: 'our code (the bundle: broker + libs/tsr, or the baseline)',
  'zeromq-js': 'zeromq JS wrapper (node_modules/zeromq/lib)',
  native: 'native calls from JS (zeromq addon send/receive, Buffer, ...)',
  node: 'Node internals (node:*)',
  gc: 'garbage collector',
  program: '(program): event loop, promise jobs, native not attributed to JS',
  idle: 'idle (waiting in epoll)',
  other: 'other',
};

export interface FunctionTime {
  name: string;
  where: string;
  category: Category;
  selfMs: number;
  /** Share of the non-idle time. */
  share: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  byCategory: Record<Category, number>;
  top: FunctionTime[];
  /** Inclusive time (ms) of selected functions, e.g. the message handlers. */
  inclusive: Record<string, number>;
}

function categorize(f: CallFrame, ownUrl: (url: string) => boolean): Category {
  if (f.functionName === '(idle)') return 'idle';
  if (f.functionName === '(garbage collector)') return 'gc';
  if (f.functionName === '(program)' || f.functionName === '(root)') return 'program';
  if (f.url === '') return 'native';
  if (f.url.includes('node_modules/zeromq')) return 'zeromq-js';
  if (f.url.startsWith('node:')) return 'node';
  if (ownUrl(f.url)) return 'ours';
  return 'other';
}

/**
 * @param ownUrl which script URLs count as "our code"
 * @param inclusiveOf function names whose inclusive (self + callees) time is reported
 */
export function summarizeProfile(file: string, ownUrl: (url: string) => boolean, inclusiveOf: readonly string[] = [], topN = 25): ProfileSummary {
  const p = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  for (let i = 0; i < p.samples.length; i++) selfUs.set(p.samples[i], (selfUs.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));

  const byCategory = { ours: 0, 'zeromq-js': 0, native: 0, node: 0, gc: 0, program: 0, idle: 0, other: 0 } as Record<Category, number>;
  const byFunction = new Map<string, FunctionTime>();
  for (const [id, us] of selfUs) {
    const f = (byId.get(id) as ProfileNode).callFrame;
    const category = categorize(f, ownUrl);
    byCategory[category] += us / 1000;
    const where = f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName}@${where}`;
    const entry = byFunction.get(key) ?? { name: f.functionName || '(anonymous)', where, category, selfMs: 0, share: 0 };
    entry.selfMs += us / 1000;
    byFunction.set(key, entry);
  }
  const busyMs = Object.entries(byCategory).reduce((a, [k, v]) => (k === 'idle' ? a : a + v), 0);
  const top = [...byFunction.values()]
    .filter((f) => f.category !== 'idle')
    .sort((a, b) => b.selfMs - a.selfMs)
    .slice(0, topN)
    .map((f) => ({ ...f, share: f.selfMs / busyMs }));

  // inclusive time: self time of the node and all its descendants, for nodes with a chosen name
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusiveMs = new Map(inclusiveOf.map((n) => [n, 0]));
  for (const [id, us] of selfUs) {
    const seen = new Set<string>(); // count a sample once per name even under recursion
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const name = (byId.get(cur) as ProfileNode).callFrame.functionName;
      if (inclusiveMs.has(name) && !seen.has(name)) {
        inclusiveMs.set(name, (inclusiveMs.get(name) ?? 0) + us / 1000);
        seen.add(name);
      }
    }
  }
  return { file, wallMs: (p.endTime - p.startTime) / 1000, busyMs, byCategory, top, inclusive: Object.fromEntries(inclusiveMs) };
}

export function formatProfile(s: ProfileSummary, title: string): string {
  const pct = (v: number) => `${((100 * v) / s.busyMs).toFixed(1).padStart(5)}%`;
  const lines = [`${title}: ${s.wallMs.toFixed(0)} ms profiled, ${s.busyMs.toFixed(0)} ms busy (${((100 * s.busyMs) / s.wallMs).toFixed(0)}% of one core)`];
  lines.push('  by category (share of busy time):');
  for (const [k, v] of Object.entries(s.byCategory).sort((a, b) => b[1] - a[1])) if (k !== 'idle' && v > 0) lines.push(`    ${pct(v)}  ${categoryLabel[k as Category]}`);
  lines.push('  top self time:');
  for (const f of s.top) lines.push(`    ${pct(f.selfMs)}  ${f.selfMs.toFixed(0).padStart(6)} ms  ${f.name}  ${f.where}  [${f.category}]`);
  if (Object.keys(s.inclusive).length) {
    lines.push('  inclusive time:');
    for (const [name, ms] of Object.entries(s.inclusive)) lines.push(`    ${pct(ms)}  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
  }
  return lines.join('\n');
}
