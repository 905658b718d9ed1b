import type { CpuShare } from './cpu.js';
import type { LoadResult } from './load.js';
import type { Group } from './scenarios.js';

/** The shape of bench/results.json. */

export interface HttpRun {
  readonly round: number;
  readonly result: LoadResult;
  /** Measured runs it took, when other processes spoiled earlier ones. */
  readonly attempts?: number;
  /** CPU µs per request of the server process, of redis-server, and of the paired bare server. */
  readonly serverCpuUs?: number;
  readonly redisCpuUs?: number;
  readonly baselineCpuUs?: number;
  /** The bare-framework run just before this one. */
  readonly baseline: LoadResult;
  /** What the rest of the machine used during the measured run and during its baseline. */
  readonly cpu?: CpuShare;
  readonly baselineCpu?: CpuShare;
}

export interface HttpRow {
  readonly id: number;
  readonly title: string;
  readonly group: Group;
  readonly framework: 'express' | 'koa';
  readonly keys: number;
  readonly refuseShare: number;
  /** Why the scenario did not run, when it did not. */
  readonly unavailable?: string;
  readonly runs: HttpRun[];
  readonly rps?: number;
  readonly p50?: number;
  readonly p99?: number;
  /** Median of the paired bare runs. */
  readonly baselineRps?: number;
  /** rps / baselineRps. */
  readonly ratio?: number;
  /** 1e6/rps − 1e6/baselineRps. */
  readonly addedUs?: number;
  /** Each round's own ratio, to show the spread. */
  readonly roundRatios?: number[];
  /** Responses other than 2xx over all measured runs, and their share. */
  readonly non2xx?: number;
  readonly non2xxShare?: number;
  readonly errors?: number;
  /** Median cores used by other processes during this scenario's measured runs. */
  readonly otherCores?: number;
  /** Median CPU µs per request: server (+ redis-server), the paired bare server's, and the paired difference. */
  readonly cpuUs?: number;
  readonly redisCpuUs?: number;
  readonly baselineCpuUs?: number;
  readonly cpuAddedUs?: number;
  /** Median cores the server process used during its measured runs. */
  readonly serverCores?: number;
}

export interface MicroResult {
  readonly name: string;
  /** Per wall-clock second. */
  readonly perSecond: number[];
  readonly median: number;
  /** Per second of the process's CPU time (sequential runs): a core's worth, whatever else ran. */
  readonly perCpuSecond?: number[];
  readonly cpuMedian?: number;
}

export interface RedisMicro {
  readonly unavailable?: string;
  /** Cores other processes used while it ran. */
  readonly otherCores?: number;
  readonly seconds?: number;
  readonly inFlight?: number;
  readonly results?: Array<MicroResult & { mode: string; subject: string }>;
  readonly roundTrips?: Record<
    string,
    {
      perCall: number;
      redisCommandsPerCall: Record<string, number>;
      scriptMicrosPerCall: Record<string, number>;
    }
  >;
}

export interface HeapPerKey {
  readonly keys: number;
  readonly counters: number;
  readonly bytesPerKey: number;
  readonly heapBeforeMB: number;
  readonly heapAfterMB: number;
  readonly insertsPerSecond: number;
}

export interface Flood {
  readonly maxKeys: number;
  readonly seconds: number;
  readonly checks: number;
  readonly refused: number;
  readonly checksPerSecond: number;
  readonly maxSize: number;
  readonly samples: Array<{ at: number; checks: number; size: number; heapMB: number }>;
  readonly heapAtCapMinMB?: number;
  readonly heapAtCapMaxMB?: number;
  readonly heapGrowthAfterCapMB?: number;
}

export interface Target {
  readonly area: string;
  readonly target: string;
  readonly measured: string;
  /**
   * The same figure for the target's floor (support/floor.ts) in the same run, when it has one:
   * what the least any limiter with tollgate's outputs must do reaches.
   */
  readonly floor?: string;
  /** `undefined` when the scenarios it needs did not run. */
  readonly met: boolean | undefined;
}

export interface Results {
  readonly generatedAt: string;
  /** Set when the reports were rebuilt from recorded runs (BENCH_RERENDER). */
  readonly rerenderedAt?: string;
  readonly command: string;
  readonly settings: Record<string, unknown>;
  readonly machine: Record<string, unknown>;
  readonly versions: Record<string, string>;
  readonly http: HttpRow[];
  readonly micro?: { results: MicroResult[]; otherCores?: number };
  readonly redisMicro?: RedisMicro;
  readonly memory?: { window: HeapPerKey; withBurst: HeapPerKey };
  readonly flood?: Flood;
  readonly targets: Target[];
  readonly durationS: number;
}
