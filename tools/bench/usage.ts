/**
 * What a process costs while the benchmark loads it: resident memory and CPU time per process
 * (pidusage), and how busy the whole machine was (Node's os.cpus()).
 */
import { cpus } from 'node:os';
import pidusage from 'pidusage';

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
}

interface Reading {
  rssKiB: number;
  cpuMs: number;
}

async function read(pid: number): Promise<Reading | undefined> {
  try {
    const s = await pidusage(pid);
    return { rssKiB: s.memory / 1024, cpuMs: s.ctime };
  } catch {
    return undefined; // the process is gone
  }
}

/**
 * CPU µs per request of the first `servers` processes watched (the target's own: broker or brokers, forwarder, direct,
 * nats-server), all their threads.
 */
export const cpuUsPerRequest = (usage: readonly ProcessUsage[], requestsPerSecond: number, servers = 1): number =>
  (usage.slice(0, servers).reduce((a, u) => a + u.cpuCores, 0) / requestsPerSecond) * 1e6;

/** Resident set size in KiB, or undefined when the process is gone. */
export const rssKiB = async (pid: number): Promise<number | undefined> => (await read(pid))?.rssKiB;

/** Busy milliseconds of all cores so far. */
const machineBusyMs = () => cpus().reduce((a, { times: t }) => a + t.user + t.nice + t.sys + t.irq, 0);

/** A point in time: the machine's busy time, and each watched process's CPU time. */
type Mark = { at: number; busyMs: number; cpuMs: Map<string, number> };

/**
 * Samples every `intervalMs` (peak RSS, latest CPU time) and reads CPU time at `markStart()` and
 * `markEnd()`: each process's share of the cores in that window. A process that has exited keeps
 * its last sampled reading.
 */
export class Sampler {
  private readonly peak = new Map<string, number>();
  private readonly last = new Map<string, Reading>();
  private readonly timer: NodeJS.Timeout;
  private start: Promise<Mark> | undefined;
  private end: Promise<Mark> | undefined;

  constructor(
    private readonly watched: readonly Watched[],
    intervalMs = 200,
  ) {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), intervalMs);
  }

  private async sample(): Promise<Map<string, number>> {
    const cpuMs = new Map<string, number>();
    await Promise.all(
      this.watched.map(async (w) => {
        const r = (await read(w.pid)) ?? this.last.get(w.label);
        if (!r) return;
        this.last.set(w.label, r);
        this.peak.set(w.label, Math.max(r.rssKiB, this.peak.get(w.label) ?? 0));
        cpuMs.set(w.label, r.cpuMs);
      }),
    );
    return cpuMs;
  }

  private mark(): Promise<Mark> {
    const at = performance.now();
    const busyMs = machineBusyMs();
    return this.sample().then((cpuMs) => ({ at, busyMs, cpuMs }));
  }

  markStart(): void {
    this.start = this.mark();
  }

  markEnd(): void {
    this.end = this.mark();
  }

  /** Busy cores of the whole machine in the window, and each watched process's usage. */
  async stop(): Promise<{ usage: ProcessUsage[]; machineBusyCores: number }> {
    clearInterval(this.timer);
    const [start, end] = await Promise.all([this.start, this.end]);
    const windowMs = start && end ? end.at - start.at : NaN;
    const usage = this.watched.map((w) => ({
      label: w.label,
      peakRssKiB: this.peak.get(w.label) ?? NaN,
      cpuCores: ((end?.cpuMs.get(w.label) ?? NaN) - (start?.cpuMs.get(w.label) ?? NaN)) / windowMs,
    }));
    pidusage.clear(); // its history timers would keep the process alive
    return { usage, machineBusyCores: start && end ? (end.busyMs - start.busyMs) / windowMs : NaN };
  }
}
