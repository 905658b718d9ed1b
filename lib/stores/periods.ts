import type { WindowCounterSpec } from './store.js';

/**
 * Where a window counter's windows start and end, shared by every store so that all of them
 * count the same windows. A window is numbered from the epoch; its span says how windows are
 * cut: a positive span is a fixed length in ms aligned to the Unix epoch (the minute, the UTC
 * day, a number of days), and the negative spans below are calendar periods in UTC. Nothing
 * here reads local time, so the server's `TZ` changes nothing.
 */

const DAY_MS = 86_400_000;
const WEEK_MS = 7 * DAY_MS;
/** 1970-01-05T00:00Z, the first Monday after the epoch: ISO weeks start on Mondays. */
const FIRST_MONDAY_MS = 4 * DAY_MS;

/** The span of an ISO week: Monday 00:00 UTC to the next Monday. */
export const WEEK_SPAN = -2;
/** The span of a calendar month in UTC: the 1st at 00:00 UTC to the next 1st. */
export const MONTH_SPAN = -3;

/** The longest window of each calendar period, what `WindowCounterSpec.windowMs` says for one. */
export const LONGEST_MS = { week: WEEK_MS, month: 31 * DAY_MS } as const;

/** How a window counter's windows are cut: its `windowMs`, or its calendar period's span. */
export function spanOf(counter: Pick<WindowCounterSpec, 'windowMs' | 'period'>): number {
  const { period } = counter;
  return period === undefined ? counter.windowMs : period === 'month' ? MONTH_SPAN : WEEK_SPAN;
}

/** The number of the window of `span` that holds `at` (ms since epoch). */
export function windowIndex(span: number, at: number): number {
  if (span > 0) return Math.floor(at / span);
  if (span === WEEK_SPAN) return Math.floor((at - FIRST_MONDAY_MS) / WEEK_MS);
  const date = new Date(at);
  return (date.getUTCFullYear() - 1970) * 12 + date.getUTCMonth();
}

/** Where window number `index` of `span` starts, ms since epoch. */
export function windowStart(span: number, index: number): number {
  if (span > 0) return index * span;
  if (span === WEEK_SPAN) return index * WEEK_MS + FIRST_MONDAY_MS;
  // Date.UTC carries months past December into the following years.
  return Date.UTC(1970, index);
}

/** Where window number `index` of `span` ends: where the next one starts. */
export function windowEnd(span: number, index: number): number {
  return windowStart(span, index + 1);
}

/** The end of the window of `counter` that starts at `start`. */
export function windowEndFrom(
  counter: Pick<WindowCounterSpec, 'windowMs' | 'period'>,
  start: number,
): number {
  if (counter.period === undefined) return start + counter.windowMs;
  const span = spanOf(counter);
  return windowEnd(span, windowIndex(span, start));
}
