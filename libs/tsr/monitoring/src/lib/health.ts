/** One probe's answer: green or red, and a line saying why. */
export interface Probe {
  ok: boolean;
  why: string;
}

/**
 * What `/healthz` reports: every receive loop the program runs is alive, and its event loop is
 * not stalled. A loop that dies makes the program exit 1 (its supervisor restarts it); until it
 * has, or where a test keeps it up, the probe says so instead of staying green behind open ports.
 */
export class Health {
  private readonly loops = new Map<string, string | undefined>();
  private lastTick: number;
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    /** The event loop counts as stalled when a `tickMs` timer is this late. */
    private readonly stallMs = 5000,
    private readonly tickMs = 500,
    private readonly clock: () => number = () => performance.now(),
  ) {
    this.lastTick = clock();
  }

  /** Starts watching the event loop (unref'd: it never keeps a process up). */
  start(): void {
    this.ticker = setInterval(() => (this.lastTick = this.clock()), this.tickMs);
    this.ticker.unref();
  }

  stop(): void {
    clearInterval(this.ticker);
  }

  /** A receive loop (re)started: alive until `loopFailed`. */
  loopStarted(name: string): void {
    this.loops.set(name, undefined);
  }

  loopFailed(name: string, error: Error): void {
    this.loops.set(name, error.message);
  }

  /** Wraps a loop's fatal handler so that the failure is recorded first. */
  watch(name: string, fatal: (error: Error) => void): (error: Error) => void {
    this.loopStarted(name);
    return (error) => {
      this.loopFailed(name, error);
      fatal(error);
    };
  }

  liveness(): Probe {
    const dead = [...this.loops].filter(([, error]) => error !== undefined);
    if (dead.length > 0) return { ok: false, why: dead.map(([, error]) => error).join('; ') };
    const late = this.clock() - this.lastTick;
    if (this.ticker && late > this.stallMs) return { ok: false, why: `event loop stalled for ${Math.round(late)} ms` };
    return { ok: true, why: `receive loops alive: ${[...this.loops.keys()].join(', ') || 'none'}` };
  }
}
