/** What the client knows of a 429, for deciding whether waiting can fix it. */
export interface Refusal {
  readonly status: number;
  /** `X-RateLimit-Reason`, or the body's `reason`. */
  readonly reason: string | undefined;
  /** The body's error code. */
  readonly code: string | undefined;
  /** An RFC 9457 problem type URI. */
  readonly problemType: string | undefined;
}

// `daily_spend_cap_exceeded`, `monthly-spending-cap`, `budget_exceeded`, `credits_exhausted`:
// caps on money or credits clear with the period, not with a window of requests.
const SPEND_CAP =
  /spend(?:ing)?[-_ ]?cap|budget[-_ ]?(?:cap|exceeded|exhausted)|credits?[-_ ]?(?:cap|exhausted)/i;

/** The default `isFinal`: a spending cap, named by the reason header, the body's code or its problem type. */
export function isSpendCapRefusal(refusal: Refusal): boolean {
  return [refusal.reason, refusal.code, refusal.problemType].some(
    (text) => text !== undefined && SPEND_CAP.test(text),
  );
}

const DAY = 86_400_000;

/**
 * When a cap named for its period clears, for a refusal without `Retry-After`: the next UTC
 * hour, day, week (Monday) or month, as the cap's name says. `undefined` when it names none.
 */
export function periodEnd(reason: string | undefined, now: number): number | undefined {
  if (reason === undefined) return undefined;
  const d = new Date(now);
  if (/hourly|hour_/i.test(reason)) return Math.floor(now / 3_600_000 + 1) * 3_600_000;
  if (/daily|day_/i.test(reason)) return Math.floor(now / DAY + 1) * DAY;
  if (/weekly|week_/i.test(reason)) {
    const daysToMonday = ((8 - d.getUTCDay()) % 7 || 7) * DAY;
    return Math.floor(now / DAY) * DAY + daysToMonday;
  }
  if (/monthly|month_/i.test(reason)) return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1);
  return undefined;
}
