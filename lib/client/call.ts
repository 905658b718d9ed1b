import { type ErrorBody, parseErrorBody, peekText } from './body.js';
import { type Answer, classify, type RetryCounts } from './classify.js';
import { ClientError } from './errors.js';
import type { Emitter } from './events.js';
import { readRateLimit } from './headers.js';
import type { MetricsRecorder } from './metrics.js';
import type { ClientConfig } from './options.js';
import type { PolicyTracker } from './policies.js';
import type { QueueJob, RequestQueue } from './queue.js';

/** The parts of a client every call uses. */
export interface ClientParts {
  readonly config: ClientConfig;
  readonly queue: RequestQueue;
  readonly tracker: PolicyTracker;
  readonly metrics: MetricsRecorder;
  readonly events: Emitter;
}

/** A call ready to send: everything `api.fetch` worked out from its arguments. */
export interface PreparedCall {
  readonly url: string;
  readonly method: string;
  readonly init: RequestInit;
  readonly retryable: boolean;
  readonly deadline: number | undefined;
  readonly bucket: string;
  readonly signal: AbortSignal | undefined;
}

function discard(response: Response): void {
  response.body?.cancel().catch(() => {});
}

/** One `api.fetch`: its attempts, their waits, and the promise it settles. */
export class Call implements QueueJob {
  private attempts = 0;
  private readonly retries: RetryCounts = { rateLimited: 0, serverError: 0, timeout: 0, network: 0 };
  private settled = false;
  private backoff: AbortController | undefined;
  /** While an attempt is being answered, its settlement waits until the attempt's slot is free. */
  private answering = false;
  private limited = false;
  private deferred: (() => void) | undefined;

  constructor(
    private readonly parts: ClientParts,
    private readonly call: PreparedCall,
    readonly seq: number,
    private readonly settle: { resolve: (response: Response) => void; reject: (error: ClientError) => void },
  ) {}

  get bucket(): string {
    return this.call.bucket;
  }

  get deadline(): number | undefined {
    return this.call.deadline;
  }

  begin(): void {
    const signal = this.call.signal;
    if (signal?.aborted) {
      this.fail(this.aborted(signal.reason));
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    this.parts.queue.add(this);
  }

  private readonly onAbort = (): void => {
    this.parts.queue.remove(this);
    this.backoff?.abort();
    this.fail(this.aborted(this.call.signal?.reason));
  };

  private aborted(cause: unknown): ClientError {
    return new ClientError('ABORTED', `${this.call.method} ${this.call.url}: aborted by the caller`, {
      attempts: this.attempts,
      cause,
    });
  }

  expire(): void {
    this.fail(
      new ClientError(
        'DEADLINE_EXCEEDED',
        `${this.call.method} ${this.call.url}: its turn in the queue would come after the call's deadline`,
        { attempts: this.attempts },
      ),
    );
  }

  start(): void {
    void this.send();
  }

  private fail(error: ClientError): void {
    if (this.settled) return;
    this.settled = true;
    this.call.signal?.removeEventListener('abort', this.onAbort);
    this.later(() => this.settle.reject(error));
  }

  private later(settle: () => void): void {
    if (this.answering) this.deferred = settle;
    else settle();
  }

  /** Frees the attempt's slot, then settles: `metrics()` read by the caller never counts it in flight. */
  private finish(): void {
    this.answering = false;
    this.parts.queue.finished(this, this.limited);
    const settle = this.deferred;
    this.deferred = undefined;
    settle?.();
  }

  private succeed(response: Response): void {
    if (this.settled) {
      discard(response);
      return;
    }
    this.settled = true;
    this.call.signal?.removeEventListener('abort', this.onAbort);
    this.later(() => this.settle.resolve(response));
  }

  private async send(): Promise<void> {
    const { config, tracker } = this.parts;
    this.answering = true;
    if (this.settled) {
      this.finish();
      return;
    }
    this.attempts++;
    this.limited = false;
    tracker.dispatched(this.call.bucket, config.now());
    try {
      let response: Response | undefined;
      try {
        response = await config.fetch(this.call.url, this.call.init);
      } catch (cause) {
        if (!this.settled)
          this.decide({ status: undefined, reading: { policies: [] }, body: {}, response: undefined, cause });
      }
      if (response !== undefined) await this.answered(response);
    } catch (cause) {
      // Only a bug could land here; the call must still settle.
      this.fail(new ClientError('NETWORK_ERROR', 'the answer could not be handled', { cause }));
    } finally {
      // After any pause is set, so that no request slips out between a 429 and its pause.
      this.finish();
    }
  }

  private async answered(response: Response): Promise<void> {
    const { config, tracker, metrics, events } = this.parts;
    const now = config.now();
    const reading = readRateLimit(response.headers, now);
    const touched = tracker.record(this.call.bucket, reading.policies, now);
    this.limited = response.status === 429;
    const body: ErrorBody = response.status >= 400 ? parseErrorBody(await peekText(response)) : {};
    metrics.answered({ now, status: response.status, code: body.code, retry: this.attempts > 1 });
    metrics.observed(touched, now);
    if (response.status === 429)
      events.emit('alert', {
        kind: 'rate_limited',
        level: 'high',
        status: 429,
        reason: reading.reason ?? body.reason,
        url: this.call.url,
      });
    if (this.settled) {
      discard(response);
      return;
    }
    this.decide({ status: response.status, reading, body, response });
  }

  private decide(answer: Answer): void {
    const { config, queue, events, metrics } = this.parts;
    const now = config.now();
    if (answer.status === undefined) {
      if (this.call.signal?.aborted) {
        this.fail(this.aborted(answer.cause));
        return;
      }
      metrics.answered({ now, status: undefined, code: undefined, retry: this.attempts > 1 });
    }
    const outcome = classify(
      config,
      answer,
      {
        method: this.call.method,
        url: this.call.url,
        retryable: this.call.retryable,
        deadline: this.call.deadline,
        attempts: this.attempts,
        retries: this.retries,
      },
      now,
    );
    if (outcome.type === 'resolve') {
      this.succeed(answer.response!);
      return;
    }
    if (outcome.type === 'reject') {
      this.fail(outcome.error);
      return;
    }
    if (answer.response !== undefined) discard(answer.response);
    this.retries[outcome.kind]++;
    events.emit('retry', {
      url: this.call.url,
      method: this.call.method,
      attempt: this.attempts,
      status: answer.status,
      waitMs: outcome.waitMs,
      retryAfterMs: outcome.retryAfterMs,
    });
    if (outcome.kind === 'rateLimited') {
      // The limit is shared: hold the whole queue, and this call goes first when it reopens.
      queue.pause(now + outcome.waitMs);
      queue.add(this, true);
    } else void this.backOff(outcome.waitMs);
  }

  /** A server error waits on its own (other requests go on), then rejoins the queue at the front. */
  private async backOff(ms: number): Promise<void> {
    const backoff = new AbortController();
    this.backoff = backoff;
    try {
      await this.parts.config.sleep(ms, backoff.signal);
    } catch {
      // A sleep that rejects on abort is as good as one that resolves.
    }
    this.backoff = undefined;
    if (!this.settled) this.parts.queue.add(this, true);
  }
}
