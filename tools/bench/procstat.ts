/**
 * What a process costs, read from Linux's /proc: resident memory (VmRSS in /proc/PID/status) and
 * CPU time (utime + stime in /proc/PID/stat), plus the whole machine's busy time (/proc/stat).
 */
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every mainstream Linux (getconf CLK_TCK)

/** Resident set size in KiB, or undefined when the process is gone. */
export function rssKiB(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds in user and in kernel mode the process (all its threads) has used so far. */
export function cpuTimes(pid: number): { user: number; system: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // the command name (field 2) may contain spaces: count fields after its closing parenthesis
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: Number(fields[11]) / TICKS_PER_SECOND, system: Number(fields[12]) / TICKS_PER_SECOND }; // fields 14, 15
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number): number | undefined {
  const t = cpuTimes(pid);
  return t && t.user + t.system;
}

/** Context switches (voluntary + involuntary) of all the process's threads so far. */
export function contextSwitches(pid: number): number | undefined {
  try {
    let n = 0;
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const status = readFileSync(`/proc/${pid}/task/${task}/status`, 'utf8');
      for (const m of status.matchAll(/^(?:non)?voluntary_ctxt_switches:\s+(\d+)/gm)) n += Number(m[1]);
    }
    return n;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores) so far. */
export function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1, 9).map(Number); // user nice system idle iowait irq softirq steal
  const total = v.reduce((a, b) => a + b, 0);
  const idle = v[3] + v[4];
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

export interface Watched {
  label: string;
  pid: number;
}

export interface ProcessUsage {
  label: string;
  /** Peak RSS (KiB) seen while sampling. */
  peakRssKiB: number;
  /** CPU seconds used in the measured window divided by its length: 1.0 = one core fully busy. */
  cpuCores: number;
  /** Share of that CPU time spent in the kernel (system time). */
  systemShare: number;
  /** Context switches of all its threads in the window. */
  contextSwitches: number;
}

/**
 * Samples RSS every `intervalMs` and takes CPU readings at `mark()` calls: `mark()` at the start and
 * at the end of the measured window gives each process's share of the cores in that window.
 */
export class Sampler {
  private readonly peak = new Map<string, number>();
  private cpuAtStart = new Map<string, { user: number; system: number; csw: number }>();
  private readonly cpuUsed = new Map<string, { user: number; system: number; csw: number }>();
  private machineAtStart = machineCpu();
  private windowStart = 0;
  private windowSeconds = 0;
  machineBusyCores = NaN;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly watched: readonly Watched[], intervalMs = 200) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private readonly lastGood = new Map<string, { user: number; system: number; csw: number }>();

  sample(): void {
    for (const w of this.watched) {
      const rss = rssKiB(w.pid);
      if (rss !== undefined) this.peak.set(w.label, Math.max(rss, this.peak.get(w.label) ?? 0));
      if (this.windowStart > 0 && this.windowSeconds === 0) this.read(w.pid, w.label); // remember the latest CPU reading
    }
  }

  /** Start of the measured window. */
  markStart(): void {
    this.sample();
    this.windowStart = performance.now();
    this.machineAtStart = machineCpu();
    this.cpuAtStart = new Map(this.watched.map((w) => [w.label, this.read(w.pid, w.label)]));
  }

  /** End of the measured window. */
  markEnd(): void {
    this.sample();
    this.windowSeconds = (performance.now() - this.windowStart) / 1000;
    const m = machineCpu();
    this.machineBusyCores = (m.busy - this.machineAtStart.busy) / this.windowSeconds;
    for (const w of this.watched) {
      const end = this.read(w.pid, w.label); // a process that has exited: its last sampled reading
      const start = this.cpuAtStart.get(w.label) ?? { user: NaN, system: NaN, csw: NaN };
      this.cpuUsed.set(w.label, { user: end.user - start.user, system: end.system - start.system, csw: end.csw - start.csw });
    }
  }

  private read(pid: number, label: string): { user: number; system: number; csw: number } {
    const t = cpuTimes(pid);
    const csw = contextSwitches(pid);
    if (t === undefined || csw === undefined) return this.lastGood.get(label) ?? { user: NaN, system: NaN, csw: NaN };
    const r = { user: t.user, system: t.system, csw };
    this.lastGood.set(label, r);
    return r;
  }

  stop(): ProcessUsage[] {
    clearInterval(this.timer);
    return this.watched.map((w) => {
      const used = this.cpuUsed.get(w.label) ?? { user: NaN, system: NaN, csw: NaN };
      return {
        label: w.label,
        peakRssKiB: this.peak.get(w.label) ?? NaN,
        cpuCores: (used.user + used.system) / this.windowSeconds,
        systemShare: used.system / (used.user + used.system),
        contextSwitches: used.csw,
      };
    });
  }
}
