import { nextMacrotask } from './sleep.js';

/** One attempt waiting for its turn. */
export interface QueueJob {
  /** The call's place in arrival order: a retried job goes back to the front by it. */
  readonly seq: number;
  readonly bucket: string;
  /** The call's deadline on the client clock, if any. */
  readonly deadline: number | undefined;
  /** Sends the attempt; the queue counts it in flight until `finished()`. */
  start(): void;
  /** The job could not leave before its deadline. */
  expire(): void;
}

export interface QueueSettings {
  readonly concurrency: number;
  /** Least ms between two dispatches (a steady rate), 0 for none. */
  readonly spacingMs: number;
  readonly maxWaitMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** The earliest time a job of `bucket` may leave, by the throttle. */
  readonly gate: (bucket: string, now: number) => number;
  /** Reports a wait the queue starts, for the `throttle` event. */
  readonly onWait: (ms: number, bucket: string) => void;
}

/**
 * A FIFO queue with a concurrency bound, an optional steady rate, the throttle's gate, and a
 * pause that a 429 sets. One pump dispatches; it is the only place the queue sleeps.
 */
export class RequestQueue {
  private readonly jobs: QueueJob[] = [];
  private inFlight = 0;
  /** How many may be in flight now: 1 after a pause, doubling with each answer that is not a 429. */
  private width = Number.POSITIVE_INFINITY;
  /** Counts pauses: only answers to requests sent since the last one widen the queue again. */
  private epoch = 0;
  private readonly sentIn = new WeakMap<QueueJob, number>();
  private pausedUntil = Number.NEGATIVE_INFINITY;
  private lastDispatch = Number.NEGATIVE_INFINITY;
  private pumping = false;
  private wake: AbortController | undefined;
  private slotFreed: (() => void) | undefined;

  constructor(private readonly settings: QueueSettings) {}

  get queued(): number {
    return this.jobs.length;
  }

  get running(): number {
    return this.inFlight;
  }

  /** Queues a job at the back, or, for a retry, back at the front in arrival order. */
  add(job: QueueJob, front = false): void {
    if (!front) this.jobs.push(job);
    else {
      let at = 0;
      while (at < this.jobs.length && this.jobs[at]!.seq < job.seq) at++;
      this.jobs.splice(at, 0, job);
      this.wake?.abort();
    }
    void this.pump();
  }

  /** Takes a job out (its call was aborted); false when it was not queued. */
  remove(job: QueueJob): boolean {
    const at = this.jobs.indexOf(job);
    if (at < 0) return false;
    this.jobs.splice(at, 1);
    if (at === 0) this.wake?.abort();
    return true;
  }

  /**
   * Holds every job until `until` (a 429's `Retry-After`); never shortens a pause. The queue
   * then reopens one request at a time, so that the calls held back do not all race for the
   * little quota a window or bucket has regained.
   */
  pause(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
    this.width = 1;
    this.epoch++;
  }

  /** An attempt has its answer: its slot is free. */
  finished(job: QueueJob, limited: boolean): void {
    this.inFlight = Math.max(0, this.inFlight - 1);
    if (!limited && this.sentIn.get(job) === this.epoch) this.width *= 2;
    this.slotFreed?.();
  }

  private earliest(job: QueueJob, now: number): number {
    const { spacingMs, maxWaitMs, gate } = this.settings;
    const at = Math.max(this.pausedUntil, this.lastDispatch + spacingMs, gate(job.bucket, now));
    return Math.min(at, now + maxWaitMs);
  }

  /** Fails every job that could not leave before `at` within its deadline. */
  private expireBefore(at: number): void {
    for (let i = this.jobs.length - 1; i >= 0; i--) {
      const job = this.jobs[i]!;
      if (job.deadline !== undefined && job.deadline < at) {
        this.jobs.splice(i, 1);
        job.expire();
      }
    }
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.jobs.length > 0) {
        if (this.inFlight >= Math.min(this.settings.concurrency, this.width)) {
          await new Promise<void>((resolve) => {
            this.slotFreed = resolve;
          });
          this.slotFreed = undefined;
          continue;
        }
        const head = this.jobs[0]!;
        const now = this.settings.now();
        const at = this.earliest(head, now);
        if (at > now) {
          this.expireBefore(at);
          if (this.jobs[0] === head) await this.sleep(at - now, head.bucket);
          continue;
        }
        this.jobs.shift();
        if (head.deadline !== undefined && head.deadline < now) {
          head.expire();
          continue;
        }
        this.inFlight++;
        this.lastDispatch = now;
        this.sentIn.set(head, this.epoch);
        head.start();
      }
    } finally {
      this.pumping = false;
    }
  }

  private async sleep(ms: number, bucket: string): Promise<void> {
    const wake = new AbortController();
    this.wake = wake;
    const before = this.settings.now();
    this.settings.onWait(ms, bucket);
    try {
      await this.settings.sleep(ms, wake.signal);
    } catch {
      // A sleep that rejects on abort is as good as one that resolves.
    }
    this.wake = undefined;
    // An injected sleep that neither waits nor moves the clock would spin this loop forever.
    if (!wake.signal.aborted && this.settings.now() === before) await nextMacrotask();
  }
}
