/** A call waiting for its answer, which `Deadlines` times out unless it is settled first. */
export interface Waiting {
  /** When the call gives up, ms on the deadlines' clock. Set by `Deadlines.add`. */
  deadline: number;
  /** True once the call has its answer (or its timeout): a settled call is never timed out. */
  settled: boolean;
  /** Called once, at the deadline, for a call still waiting. */
  timeOut(): void;
}

/**
 * The deadlines of a store's calls in flight, behind one timer. Every call of a store waits the
 * same `timeoutMs`, so deadlines come in the order calls were sent: the timer only ever needs to
 * wake for the oldest call still waiting, and no call sets or clears a timer of its own.
 */
export class Deadlines {
  private readonly waiting: Array<Waiting | undefined> = [];
  /** Index of the oldest entry not yet timed out or passed over. */
  private head = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly wake = () => this.expire();

  constructor(
    readonly timeoutMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  add(call: Waiting): void {
    call.deadline = this.now() + this.timeoutMs;
    this.waiting.push(call);
    if (this.timer === undefined) this.arm(this.timeoutMs);
  }

  /**
   * Passes over the settled calls at the front. Called as each call settles: one connection
   * answers in the order it was asked, so the queue holds about as many calls as are in flight
   * rather than every call of the last `timeoutMs`.
   */
  release(): void {
    const waiting = this.waiting;
    let head = this.head;
    while (head < waiting.length && waiting[head]!.settled) waiting[head++] = undefined;
    this.head = head;
    this.compact();
  }

  /** Calls the queue still holds, settled or not: for tests. */
  get size(): number {
    return this.waiting.length - this.head;
  }

  /**
   * Drops the passed-over entries once there are many of them and they are most of the array:
   * amortised O(1) per call (cutting an array is a runtime call, too dear for every call).
   */
  private compact(): void {
    const head = this.head;
    if (head < 1024 || head * 2 < this.waiting.length) return;
    if (head === this.waiting.length) this.waiting.length = 0;
    else this.waiting.splice(0, head);
    this.head = 0;
  }

  private arm(delayMs: number): void {
    this.timer = setTimeout(this.wake, delayMs);
    // A pending deadline must not keep the process alive: the call's own socket does that.
    this.timer.unref?.();
  }

  private expire(): void {
    this.timer = undefined;
    const now = this.now();
    const waiting = this.waiting;
    let head = this.head;
    for (; head < waiting.length; head++) {
      const call = waiting[head]!;
      if (!call.settled && call.deadline > now) break;
      waiting[head] = undefined;
      if (!call.settled) {
        call.settled = true;
        call.timeOut();
      }
    }
    this.head = head;
    this.compact();
    if (this.head < waiting.length) this.arm(Math.max(0, waiting[this.head]!.deadline - now));
  }
}
