const UNITS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/** The pattern the options schema accepts for readable durations: `'500ms'`, `'1s'`, `'15m'`, `'1h'`, `'1d'`, `'1w'`. */
export const DURATION_PATTERN = '^[1-9][0-9]{0,9}\\s*(ms|s|m|h|d|w)$';

/** Milliseconds in a window given as ms or as a readable string. */
export function parseDuration(value: number | string): number {
  if (typeof value === 'number') return value;
  const match = /^(\d+)\s*(ms|s|m|h|d|w)$/.exec(value);
  if (match === null) return Number.NaN;
  return Number(match[1]) * UNITS[match[2]!]!;
}

const NAMED: ReadonlyArray<[number, string, string]> = [
  [604_800_000, 'week', 'w'],
  [86_400_000, 'day', 'd'],
  [3_600_000, 'hour', 'h'],
  [60_000, 'minute', 'm'],
  [1_000, 'second', 's'],
];

/** A window in words, as error bodies show it: `1 minute`, `2 hours`, `1500 milliseconds`. */
export function describeDuration(ms: number): string {
  for (const [unit, word] of NAMED) {
    if (ms % unit === 0) {
      const count = ms / unit;
      return `${count} ${word}${count === 1 ? '' : 's'}`;
    }
  }
  return `${ms} millisecond${ms === 1 ? '' : 's'}`;
}

/** The default name of a limit of this window: `minute`, `hour`, `day`; `5m` or `1500ms` otherwise. */
export function nameDuration(ms: number): string {
  for (const [unit, word, short] of NAMED) {
    if (ms === unit) return word;
    if (ms % unit === 0) return `${ms / unit}${short}`;
  }
  return `${ms}ms`;
}
