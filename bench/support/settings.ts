/**
 * The harness's knobs, all from the environment so that `npm run bench` needs no flags.
 * Quick run: `BENCH_DURATION=2 BENCH_WARMUP=1 BENCH_ROUNDS=1 npm run bench` (about 3 minutes).
 */
export interface Settings {
  /** Seconds of measured load each server of an HTTP pair gets. Defaults to 10. */
  readonly durationS: number;
  /** Seconds of one slice: the load alternates between the pair's servers slice by slice. Defaults to 1. */
  readonly sliceS: number;
  /** Seconds of load thrown away before each measured run. Defaults to 2. */
  readonly warmupS: number;
  /** A B A B … rounds of every HTTP scenario against its bare framework. Defaults to 3. */
  readonly rounds: number;
  /** autocannon connections. Defaults to 50. */
  readonly connections: number;
  /** Seconds each micro measurement lasts (decisions, Redis checks). Defaults to 3. */
  readonly microS: number;
  /** Seconds of the random-key flood against the memory store. Defaults to 10. */
  readonly floodS: number;
  /** Distinct keys for the heap-per-key measurement. Defaults to 1,000,000. */
  readonly heapKeys: number;
  /** Comma-separated filters: scenario numbers (`4,5`) or groups (`express`, `redis`, `koa`, `micro`, `memory`). */
  readonly only: readonly string[];
  /** Where results go, relative to the repository. Defaults to `bench`. */
  readonly outDir: string;
  /**
   * For a shared machine: before each measured HTTP run, wait up to this many seconds for other
   * processes to use less than `quietCores`; 0 to never wait. Defaults to 20.
   */
  readonly quietWaitS: number;
  /** What counts as quiet: CPU used by other processes, in cores. Defaults to 0.25. */
  readonly quietCores: number;
  /** Measured runs repeated when other processes were busy during them (the quietest is kept). Defaults to 2. */
  readonly retries: number;
  /** Seconds all the waiting and repeating may add to the whole run. Defaults to 300. */
  readonly quietBudgetS: number;
}

function numberFrom(name: string, fallback: number, zeroAllowed = false): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed))
    throw new Error(`${name} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number, got ${raw}`);
  return value;
}

export function readSettings(): Settings {
  return {
    durationS: numberFrom('BENCH_DURATION', 10),
    sliceS: numberFrom('BENCH_SLICE', 1),
    warmupS: numberFrom('BENCH_WARMUP', 2),
    rounds: Math.round(numberFrom('BENCH_ROUNDS', 3)),
    connections: Math.round(numberFrom('BENCH_CONNECTIONS', 50)),
    microS: numberFrom('BENCH_MICRO_DURATION', 3),
    floodS: numberFrom('BENCH_FLOOD_DURATION', 10),
    heapKeys: Math.round(numberFrom('BENCH_HEAP_KEYS', 1_000_000)),
    only: (process.env.BENCH_ONLY ?? '')
      .split(',')
      .map((part) => part.trim().toLowerCase())
      .filter((part) => part !== ''),
    outDir: process.env.BENCH_OUT ?? 'bench',
    quietWaitS: numberFrom('BENCH_QUIET_WAIT', 20, true),
    retries: Math.round(numberFrom('BENCH_RETRIES', 2, true)),
    quietBudgetS: numberFrom('BENCH_QUIET_BUDGET', 300, true),
    quietCores: numberFrom('BENCH_QUIET_CORES', 0.25),
  };
}
