/**
 * The harness's knobs, all from the environment so that `npm run bench` needs no flags
 * (see bench/README.md for the table).
 */
export interface Settings {
  readonly durationS: number;
  readonly sliceS: number;
  readonly warmupS: number;
  readonly rounds: number;
  readonly connections: number;
  readonly microS: number;
  /** Checks per subject of the Redis CPU measurement. */
  readonly redisChecks: number;
  /** Checks per subject of the Redis instructions measurement (under callgrind). */
  readonly redisInstructionChecks: number;
  /** Scenario ids and/or groups; empty: everything. */
  readonly only: readonly string[];
  readonly outDir: string;
  /** The tollgate build measured, its label, and whether to build the repository's dist/ first. */
  readonly dist: string | undefined;
  readonly label: string | undefined;
  readonly build: boolean;
  /** A second build measured beside the first, and its label. */
  readonly baselineDist: string | undefined;
  readonly baselineLabel: string | undefined;
}

export const DEFAULTS = {
  durationS: 6,
  sliceS: 1,
  warmupS: 1,
  rounds: 3,
  connections: 50,
  microS: 2,
  redisChecks: 20_000,
  redisInstructionChecks: 2_000,
} as const;

function numberFrom(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name} must be a positive number, got ${raw}`);
  return value;
}

function textFrom(name: string): string | undefined {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? undefined : raw;
}

export function readSettings(): Settings {
  return {
    durationS: numberFrom('BENCH_DURATION', DEFAULTS.durationS),
    sliceS: numberFrom('BENCH_SLICE', DEFAULTS.sliceS),
    warmupS: numberFrom('BENCH_WARMUP', DEFAULTS.warmupS),
    rounds: Math.round(numberFrom('BENCH_ROUNDS', DEFAULTS.rounds)),
    connections: Math.round(numberFrom('BENCH_CONNECTIONS', DEFAULTS.connections)),
    microS: numberFrom('BENCH_MICRO_DURATION', DEFAULTS.microS),
    redisChecks: Math.round(numberFrom('BENCH_REDIS_CHECKS', DEFAULTS.redisChecks)),
    redisInstructionChecks: Math.round(
      numberFrom('BENCH_REDIS_INSTRUCTION_CHECKS', DEFAULTS.redisInstructionChecks),
    ),
    only: (process.env.BENCH_ONLY ?? '')
      .split(',')
      .map((part) => part.trim().toLowerCase())
      .filter((part) => part !== ''),
    outDir: process.env.BENCH_OUT ?? 'bench',
    dist: textFrom('BENCH_TOLLGATE_DIST'),
    label: textFrom('BENCH_TOLLGATE_LABEL'),
    build: process.env.BENCH_BUILD !== '0',
    baselineDist: textFrom('BENCH_BASELINE_DIST'),
    baselineLabel: textFrom('BENCH_BASELINE_LABEL'),
  };
}

/** Whether these are the default measuring settings (what results.md calls a full run). */
export function isFullRun(s: Settings): boolean {
  const same = Object.entries(DEFAULTS).every(([key, value]) => s[key as keyof typeof DEFAULTS] === value);
  return same && s.only.length === 0;
}
