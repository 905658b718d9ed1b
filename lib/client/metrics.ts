import type { Emitter } from './events.js';
import type { AlertOptions } from './options.js';
import { type PolicyTracker, type TrackedPolicy, utilisationOf } from './policies.js';

export interface PolicyMetrics {
  limit: number | undefined;
  remaining: number | undefined;
  /** When the window resets, ms since epoch. */
  reset_at: number | undefined;
  window_ms: number | undefined;
  /** `1 − remaining / limit` now; 0 once the window has reset. */
  utilisation: number;
  /** Highest utilisation and `limit − remaining` seen; kept by `resetMetrics()`. */
  peak_utilisation: number;
  peak_used: number;
}

/** What `api.metrics()` returns. Counters run since creation or the last `resetMetrics()`. */
export interface ClientMetrics {
  /** HTTP requests sent, retries included. */
  total_requests: number;
  /** Answers with status 429. */
  rate_limited: number;
  /** `rate_limited / total_requests` (0 before any request). */
  rate_limited_share: number;
  /** The same share over the last minute only. */
  rate_limited_share_last_minute: number;
  /** Error answers by the code their body names, or by status when it names none. */
  by_error_code: Record<string, number>;
  /** Attempts that were retries. */
  retries: number;
  /** The utilisation of the most used policy now. */
  current_usage: number;
  /** The highest `current_usage` seen; kept by `resetMetrics()`. */
  peak_usage: number;
  /** Utilisation per policy (`ip_minute`, or `default` for single-policy headers). */
  utilisation: Record<string, number>;
  policies: Record<string, PolicyMetrics>;
  /** Calls waiting for their turn, and attempts in flight. */
  queued: number;
  in_flight: number;
}

const MINUTE = 60_000;

/** Counts, peaks and alerts. */
export class MetricsRecorder {
  private total = 0;
  private limited = 0;
  private retries = 0;
  private byCode = new Map<string, number>();
  private peakUsage = 0;
  /** Times of the last minute's requests and 429s, oldest first. */
  private recent: Array<{ at: number; limited: boolean }> = [];
  private codeTimes = new Map<string, number[]>();
  /** Alerts fire when a value crosses its threshold upwards, then re-arm once it falls back. */
  private raised = new Set<string>();

  constructor(
    private readonly alerts: AlertOptions,
    private readonly tracker: PolicyTracker,
    private readonly events: Emitter,
  ) {}

  /** An attempt got its answer (or none: `status` undefined for a network error). */
  answered(input: {
    now: number;
    status: number | undefined;
    code: string | undefined;
    retry: boolean;
  }): void {
    const { now, status, retry } = input;
    this.total++;
    if (retry) this.retries++;
    const limited = status === 429;
    if (limited) this.limited++;
    this.recent.push({ at: now, limited });
    if (status !== undefined && status >= 400) this.countCode(input.code ?? String(status), now);
    this.checkShare(now);
  }

  private countCode(code: string, now: number): void {
    this.byCode.set(code, (this.byCode.get(code) ?? 0) + 1);
    const times = (this.codeTimes.get(code) ?? []).filter((at) => at > now - MINUTE);
    times.push(now);
    this.codeTimes.set(code, times);
    const threshold = this.alerts.errorCodePerMinute;
    this.edge(`code:${code}`, times.length > threshold, () =>
      this.events.emit('alert', {
        kind: 'error_code',
        level: 'critical',
        code,
        count: times.length,
        threshold,
      }),
    );
  }

  private lastMinute(now: number): { requests: number; share: number } {
    while (this.recent.length > 0 && this.recent[0]!.at <= now - MINUTE) this.recent.shift();
    const requests = this.recent.length;
    return { requests, share: requests === 0 ? 0 : this.recent.filter((r) => r.limited).length / requests };
  }

  private checkShare(now: number): void {
    const { requests, share } = this.lastMinute(now);
    const threshold = this.alerts.rateLimitedShare;
    const judged = requests >= this.alerts.minRequests;
    this.edge('share', judged && share > threshold, () =>
      this.events.emit('alert', {
        kind: 'rate_limited_share',
        level: 'critical',
        share,
        threshold,
        requests,
      }),
    );
  }

  /** Policies changed: update peaks and raise utilisation alerts. */
  observed(policies: ReadonlyArray<readonly [string, TrackedPolicy]>, now: number): void {
    for (const [name, policy] of policies) {
      const u = utilisationOf(policy, now);
      const { warning, high } = this.alerts.utilisation;
      for (const [level, threshold] of [
        ['warning', warning],
        ['high', high],
      ] as const)
        this.edge(`${level}:${name}`, u > threshold, () =>
          this.events.emit('alert', { kind: 'utilisation', level, policy: name, utilisation: u, threshold }),
        );
    }
    this.peakUsage = Math.max(this.peakUsage, this.currentUsage(now));
  }

  private currentUsage(now: number): number {
    let max = 0;
    for (const [, policy] of this.tracker.entries()) max = Math.max(max, utilisationOf(policy, now));
    return max;
  }

  private edge(key: string, above: boolean, fire: () => void): void {
    if (above && !this.raised.has(key)) {
      this.raised.add(key);
      fire();
    } else if (!above) this.raised.delete(key);
  }

  snapshot(now: number, queue: { queued: number; in_flight: number }): ClientMetrics {
    const policies: Record<string, PolicyMetrics> = {};
    const utilisation: Record<string, number> = {};
    for (const [name, p] of this.tracker.entries()) {
      const u = utilisationOf(p, now);
      // defineProperty: a policy named `__proto__` by a hostile server stays a plain key.
      Object.defineProperty(utilisation, name, { value: u, enumerable: true, writable: true });
      Object.defineProperty(policies, name, {
        value: {
          limit: p.limit,
          remaining: p.resetAt !== undefined && now >= p.resetAt ? p.limit : p.remaining,
          reset_at: p.resetAt,
          window_ms: p.windowMs,
          utilisation: u,
          peak_utilisation: p.peakUtilisation,
          peak_used: p.peakUsed,
        },
        enumerable: true,
        writable: true,
      });
    }
    return {
      total_requests: this.total,
      rate_limited: this.limited,
      rate_limited_share: this.total === 0 ? 0 : this.limited / this.total,
      rate_limited_share_last_minute: this.lastMinute(now).share,
      by_error_code: Object.fromEntries(this.byCode),
      retries: this.retries,
      current_usage: this.currentUsage(now),
      peak_usage: this.peakUsage,
      utilisation,
      policies,
      ...queue,
    };
  }

  /** Zeroes the counters and keeps the peaks, for a report each minute. */
  reset(): void {
    this.total = 0;
    this.limited = 0;
    this.retries = 0;
    this.byCode = new Map();
  }
}
