import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  MONTH_SPAN,
  spanOf,
  WEEK_SPAN,
  windowEnd,
  windowEndFrom,
  windowIndex,
  windowStart,
} from '../../lib/stores/periods.js';

const DAY = 86_400_000;

/** The calendar months of 1970–2100 by their first day, from Date alone, as a reference. */
function monthStarts(): number[] {
  const starts: number[] = [];
  for (let year = 1970; year <= 2100; year++)
    for (let month = 0; month < 12; month++)
      starts.push(new Date(`${year}-${String(month + 1).padStart(2, '0')}-01T00:00:00Z`).getTime());
  return starts;
}

describe('calendar months, UTC', () => {
  const starts = monthStarts();

  test('every month of 1970–2100 starts on its 1st and ends on the next 1st, to the ms', () => {
    starts.forEach((start, i) => {
      const next = starts[i + 1];
      expect(windowIndex(MONTH_SPAN, start)).toBe(i);
      expect(windowStart(MONTH_SPAN, i)).toBe(start);
      // The last ms of a month is still in it; its end is the next month's start.
      expect(windowIndex(MONTH_SPAN, start - 1)).toBe(i - 1);
      if (next !== undefined) {
        expect(windowEnd(MONTH_SPAN, i)).toBe(next);
        expect(windowIndex(MONTH_SPAN, next - 1)).toBe(i);
      }
    });
  });

  test.each([
    ['February of a common year: 28 days', '2025-02', 28],
    ['February of a leap year: 29 days', '2024-02', 29],
    ['February 2000, a leap year by the 400 rule: 29 days', '2000-02', 29],
    ['February 2100, not a leap year: 28 days', '2100-02', 28],
    ['April: 30 days', '2025-04', 30],
    ['January: 31 days', '2025-01', 31],
    ['December, to the year end: 31 days', '2025-12', 31],
  ])('%s', (_what, month, days) => {
    const start = Date.parse(`${month}-01T00:00:00Z`);
    const index = windowIndex(MONTH_SPAN, start + 12 * 3_600_000);
    expect(windowStart(MONTH_SPAN, index)).toBe(start);
    expect(windowEnd(MONTH_SPAN, index) - start).toBe(days * DAY);
    expect(windowEndFrom({ windowMs: 31 * DAY, period: 'month' }, start)).toBe(start + days * DAY);
  });

  test('the last ms of a year and the first of the next are in December and January', () => {
    const newYear = Date.UTC(2026, 0, 1);
    expect(new Date(windowStart(MONTH_SPAN, windowIndex(MONTH_SPAN, newYear - 1))).toISOString()).toBe(
      '2025-12-01T00:00:00.000Z',
    );
    expect(windowStart(MONTH_SPAN, windowIndex(MONTH_SPAN, newYear))).toBe(newYear);
  });

  test('any instant is in the month that starts at or before it and ends after it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }), (at) => {
        const index = windowIndex(MONTH_SPAN, at);
        const date = new Date(at);
        expect(windowStart(MONTH_SPAN, index)).toBe(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1));
        expect(windowStart(MONTH_SPAN, index)).toBeLessThanOrEqual(at);
        expect(windowEnd(MONTH_SPAN, index)).toBeGreaterThan(at);
      }),
    );
  });
});

describe('ISO weeks, UTC', () => {
  /** The Monday 00:00 UTC of the ISO week holding `at`, from Date alone. */
  const mondayOf = (at: number) => {
    const date = new Date(at);
    const sinceMonday = (date.getUTCDay() + 6) % 7;
    return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - sinceMonday);
  };

  test('every instant is in the week from its Monday 00:00 UTC to the next', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: Date.UTC(2200, 0, 1) }), (at) => {
        const index = windowIndex(WEEK_SPAN, at);
        expect(windowStart(WEEK_SPAN, index)).toBe(mondayOf(at));
        expect(windowEnd(WEEK_SPAN, index)).toBe(mondayOf(at) + 7 * DAY);
      }),
    );
  });

  test.each([
    // Week 1 is the week with the year's first Thursday.
    ['2026-W01 starts on Monday 2025-12-29', '2026-01-01T10:00:00Z', '2025-12-29'],
    [
      '2021-W01 starts on Monday 2021-01-04 (1 January 2021 is in 2020-W53)',
      '2021-01-04T00:00:00Z',
      '2021-01-04',
    ],
    ['2021-01-03, a Sunday, is in 2020-W53', '2021-01-03T23:59:59.999Z', '2020-12-28'],
    ['2015-W01 starts on Monday 2014-12-29', '2015-01-01T00:00:00Z', '2014-12-29'],
  ])('%s', (_what, at, monday) => {
    const index = windowIndex(WEEK_SPAN, Date.parse(at));
    expect(new Date(windowStart(WEEK_SPAN, index)).toISOString().slice(0, 10)).toBe(monday);
    expect(new Date(windowStart(WEEK_SPAN, index)).getUTCDay()).toBe(1);
  });
});

describe('fixed windows', () => {
  test('are aligned to the Unix epoch', () => {
    const span = spanOf({ windowMs: 14 * DAY });
    expect(span).toBe(14 * DAY);
    // 20,384 days after 1970-01-01, a multiple of 14.
    expect(windowStart(span, windowIndex(span, Date.UTC(2025, 9, 27, 12)))).toBe(Date.UTC(2025, 9, 23));
  });

  test('periods name their spans', () => {
    expect(spanOf({ windowMs: 7 * DAY, period: 'week' })).toBe(WEEK_SPAN);
    expect(spanOf({ windowMs: 31 * DAY, period: 'month' })).toBe(MONTH_SPAN);
  });
});

describe('local time is never read', () => {
  test('the same windows under TZ=UTC, America/New_York, Asia/Kolkata, Pacific/Chatham and Australia/Lord_Howe', () => {
    const script = join(__dirname, '..', 'helpers', 'periods-scenario.ts');
    const runUnder = (tz: string) =>
      JSON.parse(
        execFileSync(process.execPath, ['--import', 'tsx', script], {
          env: { ...process.env, TZ: tz },
          encoding: 'utf8',
        }),
      ) as { tz: string; offset: number; windows: unknown };
    const utc = runUnder('UTC');
    expect(utc.offset).toBe(0);
    for (const tz of ['America/New_York', 'Asia/Kolkata', 'Pacific/Chatham', 'Australia/Lord_Howe']) {
      const other = runUnder(tz);
      expect(other.tz).toBe(tz);
      // The zone is in force in the child: its clock is not UTC's.
      expect(other.offset).not.toBe(0);
      expect(other.windows).toEqual(utc.windows);
    }
  });
});
