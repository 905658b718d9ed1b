/** Shared by the micro benchmarks: time-boxed loops and their settings from the runner. */

export const SECONDS = Number(process.env.BENCH_MICRO_DURATION ?? 3);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

/**
 * Calls per second of CPU time spent by the last `sequential` run: what one core would do if
 * nothing else ran on it, which wall-clock rates on a shared machine do not show.
 */
export let lastCpuRate = Number.NaN;

/**
 * Calls `step` sequentially for `seconds`; returns calls per (wall-clock) second. A step that
 * answers without a promise (tollgate's `decide` on the memory store, the floors) is not
 * awaited: an await of a plain value still costs a microtask.
 */
export async function sequential(seconds: number, step: (i: number) => unknown): Promise<number> {
  const start = performance.now();
  const cpuStart = process.cpuUsage();
  const deadline = start + seconds * 1000;
  let i = 0;
  for (;;) {
    // Reading the clock every call would cost as much as a decision.
    for (let j = 0; j < 256; j++) {
      const result = step(i++);
      if (result instanceof Promise) await result;
    }
    if (performance.now() >= deadline) break;
  }
  const cpu = process.cpuUsage(cpuStart);
  lastCpuRate = i / ((cpu.user + cpu.system) / 1e6);
  return i / ((performance.now() - start) / 1000);
}

/** Keeps `inFlight` calls going at once for `seconds`; returns completed calls per second. */
export async function concurrent(
  seconds: number,
  inFlight: number,
  step: (i: number) => Promise<unknown>,
): Promise<number> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let i = 0;
  const worker = async () => {
    while (performance.now() < deadline) await step(i++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return i / ((performance.now() - start) / 1000);
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface Measured {
  readonly name: string;
  /** Calls per wall-clock second, each round. */
  readonly perSecond: number[];
  readonly median: number;
  /** Sequential runs only: calls per second of this process's CPU time, each round, and their median. */
  readonly perCpuSecond?: number[];
  readonly cpuMedian?: number;
}

/** Warms `step` up for a second, then measures it `ROUNDS` times. */
export async function measure(name: string, run: (seconds: number) => Promise<number>): Promise<Measured> {
  await run(Math.min(1, SECONDS));
  const perSecond: number[] = [];
  const perCpuSecond: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    lastCpuRate = Number.NaN;
    perSecond.push(Math.round(await run(SECONDS)));
    if (!Number.isNaN(lastCpuRate)) perCpuSecond.push(Math.round(lastCpuRate));
  }
  return {
    name,
    perSecond,
    median: median(perSecond),
    ...(perCpuSecond.length === ROUNDS ? { perCpuSecond, cpuMedian: median(perCpuSecond) } : {}),
  };
}
