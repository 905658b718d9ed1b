/** A clock the test moves by hand: `now` goes into tollgate's `now` option. */
export interface ManualClock {
  readonly now: () => number;
  advance(ms: number): void;
  set(ms: number): void;
}

/** Starts at a round minute (2025-10-27T12:00:00Z) so that window arithmetic reads plainly. */
export const T0 = Date.UTC(2025, 9, 27, 12, 0, 0);

export function manualClock(start = T0): ManualClock {
  let current = start;
  return {
    now: () => current,
    advance(ms) {
      current += ms;
    },
    set(ms) {
      current = ms;
    },
  };
}
