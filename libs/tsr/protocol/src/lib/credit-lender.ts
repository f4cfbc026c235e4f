/**
 * The worker's side of leases: how a worker of several brokers shares its credit among them (docs/protocol.md, "Several
 * brokers"): pure bookkeeping, no sockets. Each broker may have the worker hold at most its
 * *window* of requests; the windows of all brokers, and what the worker still serves for
 * connections that are gone, never add up to more than the credit.
 *
 * A window grows at once (the worker reserved it before asking). It shrinks only when the broker
 * acknowledges: until then it may still dispatch under the old one. So each broker's reservation
 * is the largest of what it has the worker hold, its acknowledged window, and the window asked,
 * and one change at a time is outstanding per broker.
 *
 * The policy: a new connection is lent all that is free. A broker that says it has requests
 * waiting and no window left (`wanted`) is lent what is free; with nothing free, every broker
 * that did not say so gives back the part of its window it does not use, and what comes back
 * goes to the brokers that wait. So a worker is idle while a broker queues for at most the round
 * trip of that exchange.
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
  /** The broker has requests waiting for this worker and no window left. */
  wanting: boolean;
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

export class CreditLender<L> {
  private readonly loans = new Map<L, Loan>();
  /** Requests still being finished for connections that are gone: they count against the credit. */
  private orphans = 0;
  /** The most requests the worker ever held at once, all brokers together. */
  peak = 0;

  constructor(
    readonly credit: number,
    /** Sends `TSR/1 CREDIT window` to the broker of `link`. */
    private readonly ask: (link: L, window: number) => void,
  ) {}

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
    loan.wanting = true;
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
    return { window: loan?.open ? Math.max(loan.confirmed, loan.asked ?? 0) : 0, held: loan?.held ?? 0, leases: loan?.leases ?? false };
  }

  private loanOf(link: L): Loan {
    let loan = this.loans.get(link);
    if (loan === undefined) {
      loan = { open: false, leases: false, confirmed: 0, asked: undefined, held: 0, wanting: false, epoch: 0 };
      this.loans.set(link, loan);
    }
    return loan;
  }

  private close(loan: Loan): void {
    this.orphans += loan.held;
    Object.assign(loan, { open: false, leases: false, confirmed: 0, asked: undefined, held: 0, wanting: false, epoch: loan.epoch + 1 });
  }

  /** What every broker could have the worker hold, and what it still finishes for gone ones. */
  private committed(): number {
    let committed = this.orphans;
    for (const loan of this.loans.values()) committed += Math.max(loan.held, loan.open ? Math.max(loan.confirmed, loan.asked ?? 0) : 0);
    return committed;
  }

  private request(link: L, loan: Loan, window: number): void {
    loan.asked = window;
    this.ask(link, window);
  }

  /** Free credit to the brokers that want it; with none free, unused windows back from those that do not. */
  private rebalance(): void {
    const waiting = [...this.loans].filter(([, loan]) => loan.open && loan.leases && loan.wanting && loan.asked === undefined);
    if (waiting.length === 0) return;
    const free = this.credit - this.committed();
    if (free > 0) {
      waiting.forEach(([link, loan], i) => {
        const share = Math.floor(free / waiting.length) + (i < free % waiting.length ? 1 : 0);
        if (share === 0) return;
        loan.wanting = false;
        this.request(link, loan, loan.confirmed + share);
      });
      return;
    }
    // A broker that wanted more may have used it up since (its flag stays until it is lent more): it
    // gives back too when another waits. Its broker says WANT again after the acknowledgement if it still needs it.
    for (const [link, loan] of this.loans)
      if (loan.open && loan.leases && (!loan.wanting || waiting.length > 1) && loan.asked === undefined && loan.confirmed > loan.held) {
        loan.wanting = false;
        this.request(link, loan, loan.held);
      }
  }
}
