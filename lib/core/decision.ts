/** The state of one limit after a decision. */
export interface PolicyState {
  /** `<scope>_<limit>`, e.g. `ip_minute`, `partner_burst`: the `X-RateLimit-Reason` of a refusal. */
  readonly id: string;
  readonly scope: string;
  /** The limit's name: `minute`, `hour`, `burst`, … */
  readonly name: string;
  /** `lease`: a concurrency limit, counting requests in flight. */
  readonly kind: 'window' | 'bucket' | 'lease';
  /** What the limit counts: requests (or their weight), a spending cap's credits, or requests in flight. */
  readonly unit: 'requests' | 'credits' | 'concurrent-requests';
  /** The tier the scope was counted in, when it has tiers. */
  readonly tier: string | undefined;
  /** Units the limit admits per window, or the bucket's capacity. */
  readonly limit: number;
  readonly remaining: number;
  /** When the limit is whole again (window end, bucket full), ms since epoch. */
  readonly resetAt: number;
  /**
   * The window's length (this month's, for a monthly cap); for a bucket, the time it takes to
   * refill from empty; 0 for a concurrency limit.
   */
  readonly windowMs: number;
  /** Whether this limit admitted the request's cost. */
  readonly allowed: boolean;
  /** Earliest moment the limit would admit the cost, ms since epoch. */
  readonly retryAt: number;
  /** This limit as an item of the IETF `RateLimit-Policy` field, e.g. `"ip_minute";q=100;w=60`. */
  readonly policy: string;
  /** Whether this is its scope's `headerLimit`: the one the single-value headers report. */
  readonly pinned: boolean;
}

export type DecisionReason =
  /** A limit refused: the reason is its id, e.g. `ip_minute`. */
  | string
  /** A scope with `onMissing: 'refuse'` (or a spending cap) found no key: `<scope>_missing`. */
  | `${string}_missing`
  | 'invalid_cost'
  /** A key value that is nested too deeply or too large to count (a 400). */
  | 'invalid_key'
  /**
   * The spending cap refused: the request costs more than what remains of the period's budget
   * (`weekly_…`, `monthly_…`, `<n>_day_…` for the other periods).
   */
  | 'daily_spend_cap_exceeded'
  | 'weekly_spend_cap_exceeded'
  | 'monthly_spend_cap_exceeded'
  /** A concurrency limit refused: `<scope>_concurrency`. */
  | `${string}_concurrency`
  /** The request costs more than the whole daily budget: it could never succeed. */
  | 'cost_exceeds_cap'
  | 'invalid_idempotency_key'
  | 'store_unavailable';

/** What tollgate decided for one request; on `req.rateLimit` (Express) or `ctx.state.rateLimit` (Koa). */
export interface Decision {
  /** Whether the request may go on. In shadow mode the request goes on even when this is false. */
  readonly allowed: boolean;
  readonly shadow: boolean;
  /** 200 when admitted; otherwise the status of the answer: 429, 400, 401, 503. */
  readonly status: number;
  /** Why the request was refused (or would have been, in shadow mode), or `store_unavailable`. */
  readonly reason: DecisionReason | undefined;
  /** The scope the single-value figures below describe: the binding one. */
  readonly scope: string | undefined;
  /** That scope's error code. */
  readonly code: string | number | undefined;
  /** That scope's message, or a default one. */
  readonly message: string | undefined;
  /** The reported limit: the one closest to refusing, or the scope's `headerLimit`. */
  readonly limit: number;
  readonly remaining: number;
  /** When the reported limit resets, ms since epoch. */
  readonly resetAt: number;
  /** The reported limit's window, ms. */
  readonly windowMs: number;
  /** Units this request took (or asked for) from the reported scope. */
  readonly cost: number;
  /** Seconds until a retry can succeed: whole, at least 1, rounded up. Only on refusals. */
  readonly retryAfter: number | undefined;
  /** The store's clock at the decision. */
  readonly now: number;
  /** Every limit the request was counted against. */
  readonly policies: readonly PolicyState[];
  /** The store's error when it could not answer. */
  readonly storeError?: unknown;
  /** The response headers, as computed for the configured dialects. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
}
