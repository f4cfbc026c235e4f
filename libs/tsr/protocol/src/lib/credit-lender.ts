/**
 * The worker's side of leases: how a worker of several brokers shares its credit among them
 * (docs/protocol.md, "Several brokers"): pure bookkeeping, no sockets, time given by `clock`. Each
 * broker may have the worker hold at most its *window* of requests; the windows of all brokers,
 * and what the worker still serves for connections that are gone, never add up to more than the
 * credit.
 *
 * A window grows at once (the worker reserved it before asking). It shrinks only when the broker
 * acknowledges: until then it may still dispatch under the old one. So each broker's reservation
 * is the largest of what it has the worker hold, its acknowledged window, and the window asked,
 * and one change at a time is outstanding per broker.
 *
 * The policy. A broker *waits* while it says, within `demandTtlMs`, that it has requests waiting
 * and no window left (`wanted`: at once when its queue forms, then with every heartbeat). A new
 * connection is lent all that is free. What is free goes to the waiting brokers, the smallest
 * windows first. With nothing free:
 * - a broker that does not wait gives back what it does not use;
 * - a waiting broker above its fair share (the credit over the waiting brokers, rounded up) gives
 *   back what it does not use, down to that share;
 * - when a waiting broker has had no window for `rotateAfterMs` and none of the above frees any
 *   (a credit smaller than the brokers that want it), a waiting broker gives back its window
 *   when it does not use it: the credit goes round (once the starved broker can be lent it: it
 *   has no change of its window unacknowledged).
 * So a busy broker's requests wait for a round trip where a window is unused elsewhere, for the
 * rounds of the fair shares under contention, and at most `rotateAfterMs` where there are more
 * busy brokers than credit.
 */

interface Loan {
  /** Registered on a live connection; a closed loan lends nothing. */
  open: boolean;
  /** The broker moves credit (it offered leases): its window may change. */
  leases: boolean;
  /** The window in force at the broker, as far as it acknowledged (or the ready's). */
  confirmed: number;
  /** A window asked and not yet acknowledged. */
  asked: number | undefined;
  /** Requests of this connection the worker holds (queued or in its handler). */
  held: number;
  /** When the broker last said it has requests waiting for this worker and no window left. */
  wantedAt: number;
  /** Since when the broker has waited with no window (NaN: it has not). */
  starvedSince: number;
  /** Counts connections: a request of an earlier one is the worker's alone to finish. */
  epoch: number;
}

/** A request taken from a broker: handed back to `finished` when the worker is done with it. */
export interface Loaned {
  readonly loan: Loan;
  readonly epoch: number;
}

/** One broker's share, for status output. */
export interface LoanStatus {
  window: number;
  held: number;
  leases: boolean;
}

export interface LenderTiming {
  /** ms a broker's word that it waits holds (it repeats it with every heartbeat). */
  demandTtlMs: number;
  /** ms a waiting broker may go without a window before the credit goes round. */
  rotateAfterMs: number;
  /** The time, in ms (default: performance.now). */
  clock?: () => number;
}

export class CreditLender<L> {
  private readonly loans = new Map<L, Loan>();
  private readonly clock: () => number;
  /** Requests still being finished for connections that are gone: they count against the credit. */
  private orphans = 0;
  /** The most requests the worker ever held at once, all brokers together. */
  peak = 0;

  constructor(
    readonly credit: number,
    /** Sends `TSR/1 CREDIT window` to the broker of `link`. */
    private readonly ask: (link: L, window: number) => void,
    private readonly timing: LenderTiming,
  ) {
    this.clock = timing.clock ?? (() => performance.now());
  }

  /** Requests held now, all brokers together. */
  get held(): number {
    let held = this.orphans;
    for (const loan of this.loans.values()) held += loan.held;
    return held;
  }

  /** Connected to the broker of `link` (a new connection): the window its ready lends, all that is free. */
  opened(link: L): number {
    const loan = this.loanOf(link);
    if (loan.open) this.close(loan);
    loan.open = true;
    loan.confirmed = Math.max(0, this.credit - this.committed());
    return loan.confirmed;
  }

  /** The connection is gone (or the broker removed): what it lent is free, its requests are the worker's to finish. */
  closed(link: L): void {
    const loan = this.loans.get(link);
    if (loan === undefined) return;
    this.close(loan);
    this.rebalance();
  }

  /** The broker is no longer one of ours. */
  removed(link: L): void {
    this.closed(link);
    this.loans.delete(link);
  }

  /** The broker offered leases: its window may move from now on (told so by asking for the current one). */
  leasing(link: L): void {
    const loan = this.loans.get(link);
    if (!loan?.open || loan.leases) return;
    loan.leases = true;
    this.request(link, loan, loan.confirmed);
  }

  /** The broker acknowledged `window`. */
  acknowledged(link: L, window: number): void {
    const loan = this.loans.get(link);
    if (!loan?.open || loan.asked !== window) return; // not what we asked: a confused or earlier broker
    loan.confirmed = window;
    loan.asked = undefined;
    this.rebalance();
  }

  /** The broker has requests waiting and no window left. */
  wanted(link: L): void {
    const loan = this.loans.get(link);
    if (!loan?.open || !loan.leases) return;
    loan.wantedAt = this.clock();
    this.rebalance();
  }

  /** Time passed (the worker's heartbeat): a waiting broker may be due its turn. */
  tick(): void {
    this.rebalance();
  }

  /** A request came from the broker of `link`. */
  took(link: L): Loaned {
    const loan = this.loanOf(link);
    loan.held++;
    this.peak = Math.max(this.peak, this.held);
    return { loan, epoch: loan.epoch };
  }

  /** Whether the request's connection is still the current one (its answer can go back). */
  current(loaned: Loaned): boolean {
    return loaned.loan.open && loaned.epoch === loaned.loan.epoch;
  }

  /** The worker is done with a request (answered, or dropped with its connection). */
  finished(loaned: Loaned): void {
    if (loaned.epoch === loaned.loan.epoch) loaned.loan.held--;
    else this.orphans--;
    this.rebalance();
  }

  status(link: L): LoanStatus {
    const loan = this.loans.get(link);
    return { window: loan ? this.window(loan) : 0, held: loan?.held ?? 0, leases: loan?.leases ?? false };
  }

  private loanOf(link: L): Loan {
    let loan = this.loans.get(link);
    if (loan === undefined) {
      loan = { open: false, leases: false, confirmed: 0, asked: undefined, held: 0, wantedAt: -Infinity, starvedSince: NaN, epoch: 0 };
      this.loans.set(link, loan);
    }
    return loan;
  }

  private close(loan: Loan): void {
    this.orphans += loan.held;
    Object.assign(loan, {
      open: false,
      leases: false,
      confirmed: 0,
      asked: undefined,
      held: 0,
      wantedAt: -Infinity,
      starvedSince: NaN,
      epoch: loan.epoch + 1,
    });
  }

  /** What every broker could have the worker hold, and what it still finishes for gone ones. */
  private committed(): number {
    let committed = this.orphans;
    for (const loan of this.loans.values()) committed += Math.max(loan.held, this.window(loan));
    return committed;
  }

  private request(link: L, loan: Loan, window: number): void {
    loan.asked = window;
    this.ask(link, window);
  }

  /** What the broker may dispatch under: the window acknowledged or asked, the larger (0 once closed: `close` clears both). */
  private window(loan: Loan): number {
    return Math.max(loan.confirmed, loan.asked ?? 0);
  }

  /** Moves credit as the policy says (see the class comment); one change at a time per broker. */
  private rebalance(): void {
    // Called after every request a worker finishes: no array is made unless a broker waits.
    const now = this.clock();
    const waits = (loan: Loan) => now - loan.wantedAt <= this.timing.demandTtlMs;
    let anyWaits = false;
    for (const loan of this.loans.values()) {
      if (!loan.open || !loan.leases) continue;
      const waiting = waits(loan);
      anyWaits ||= waiting;
      if (!waiting || this.window(loan) !== 0) loan.starvedSince = NaN;
      else if (Number.isNaN(loan.starvedSince)) loan.starvedSince = now;
    }
    if (!anyWaits) return;
    const movable = [...this.loans].filter(([, loan]) => loan.open && loan.leases);
    const waiting = movable.filter(([, loan]) => waits(loan));
    // No waiting broker is lent past its fair share, nor made to give back below it: the two rules
    // cannot undo each other.
    const fair = Math.ceil(this.credit / waiting.length);
    const free = this.credit - this.committed();
    if (free > 0) {
      // One at a time to the smallest window below its share, so that the shares even out; among
      // equals, to the one that has gone without longest.
      const grants = new Map<Loan, number>();
      const open = waiting.filter(([, loan]) => loan.asked === undefined);
      const since = (loan: Loan) => (Number.isNaN(loan.starvedSince) ? Infinity : loan.starvedSince);
      const lent = (loan: Loan) => this.window(loan) + (grants.get(loan) ?? 0);
      for (let left = free; left > 0; left--) {
        const below = open.filter(([, loan]) => lent(loan) < fair).sort(([, a], [, b]) => lent(a) - lent(b) || since(a) - since(b));
        if (below.length === 0) break;
        grants.set(below[0][1], (grants.get(below[0][1]) ?? 0) + 1);
      }
      for (const [link, loan] of open) {
        const more = grants.get(loan);
        if (more !== undefined) this.request(link, loan, loan.confirmed + more);
      }
      return;
    }
    const giveBack = (link: L, loan: Loan, floor: number): boolean => {
      const target = Math.max(loan.held, floor);
      if (loan.asked !== undefined || target >= loan.confirmed) return false;
      this.request(link, loan, target);
      return true;
    };
    let freed = false;
    for (const [link, loan] of movable) freed = giveBack(link, loan, waits(loan) ? fair : 0) || freed;
    if (freed) return;
    // Only for a broker that can be lent what is given back: with a change of its own unacknowledged
    // it cannot, and the window would go back to where it came from, to be given back again at the
    // acknowledgement, and so on until that broker's acknowledgement came.
    const due = waiting.some(([, loan]) => loan.asked === undefined && now - loan.starvedSince >= this.timing.rotateAfterMs);
    if (due) for (const [link, loan] of waiting) if (this.window(loan) > 0 && giveBack(link, loan, 0)) return;
  }
}
