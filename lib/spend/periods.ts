import { LONGEST_MS } from '../stores/periods.js';
import type { CalendarPeriod } from '../stores/store.js';

/**
 * A spending cap's periods: the UTC day, the ISO week (from Monday 00:00 UTC), the calendar
 * month in UTC, or a fixed number of days aligned to the Unix epoch.
 */
export type SpendPeriod = 'day' | 'week' | 'month' | { days: number };

/** A UTC day. Store windows are aligned to the Unix epoch, which has no leap seconds, so a day window is the UTC calendar day. */
export const DAY_MS = 86_400_000;

export interface CompiledPeriod {
  /** `day`, `week`, `month`, or `<n>d`: in policy ids (`spend_month`), store keys and usage. */
  readonly name: string;
  /** The window's length; for a calendar period, its longest. */
  readonly windowMs: number;
  readonly calendar: CalendarPeriod | undefined;
  /** `X-RateLimit-Reason` of a refusal: `daily_spend_cap_exceeded`, `monthly_…`. */
  readonly reason: string;
  /** The start of the default refusal message: `Daily`, `Monthly`, `14-day`. */
  readonly adjective: string;
  /** When the period clears, for the default refusal message. */
  readonly clears: string;
}

export function compilePeriod(period: SpendPeriod): CompiledPeriod {
  if (period === 'week')
    return named('week', LONGEST_MS.week, 'week', ['weekly', 'Weekly', 'on Monday at 00:00 UTC']);
  if (period === 'month')
    return named('month', LONGEST_MS.month, 'month', ['monthly', 'Monthly', 'on the 1st at 00:00 UTC']);
  const days = period === 'day' ? 1 : period.days;
  if (days === 1) return named('day', DAY_MS, undefined, ['daily', 'Daily', 'at 00:00 UTC']);
  return named(`${days}d`, days * DAY_MS, undefined, [
    `${days}_day`,
    `${days}-day`,
    `every ${days} days from the Unix epoch, at 00:00 UTC`,
  ]);
}

function named(
  name: string,
  windowMs: number,
  calendar: CalendarPeriod | undefined,
  [reason, adjective, clears]: [string, string, string],
): CompiledPeriod {
  return { name, windowMs, calendar, reason: `${reason}_spend_cap_exceeded`, adjective, clears };
}

/** A period by the name a policy carries (`day`, `month`, `14d`), as `compilePeriod` made it. */
export function periodNamed(name: string): CompiledPeriod {
  if (name === 'week' || name === 'month' || name === 'day') return compilePeriod(name);
  return compilePeriod({ days: Number.parseInt(name, 10) });
}
