import type { CpuShare } from './cpu.js';
import type { HttpRow, HttpRun } from './results.js';
import type { HttpScenario } from './scenarios.js';
import { addedMicros, median } from './stats.js';

/** What a row says of its scenario. */
export type RowHead = Pick<HttpScenario, 'id' | 'title' | 'group' | 'framework' | 'keys' | 'refuseShare'>;

/** A scenario's row from its runs: medians, and the paired comparisons with the bare framework. */
export function summarise(scenario: RowHead, runs: HttpRun[], unavailable: string | undefined): HttpRow {
  const base = {
    id: scenario.id,
    title: scenario.title,
    group: scenario.group,
    framework: scenario.framework,
    keys: scenario.keys,
    refuseShare: scenario.refuseShare,
    runs,
  };
  if (runs.length === 0) return { ...base, unavailable: unavailable ?? 'not selected' };
  const rps = median(runs.map((r) => r.result.rps));
  const baselineRps = median(runs.map((r) => r.baseline.rps));
  const requests = runs.reduce((sum, r) => sum + r.result.requests, 0);
  const non2xx = runs.reduce((sum, r) => sum + r.result.non2xx, 0);
  return {
    ...base,
    ...(unavailable === undefined ? {} : { unavailable }),
    rps,
    p50: median(runs.map((r) => r.result.p50)),
    p99: median(runs.map((r) => r.result.p99)),
    baselineRps,
    // Each run against the bare server it alternated with, then the median: pairs cancel the
    // drift of the machine between rounds, which a ratio of medians taken from different rounds
    // does not.
    ratio: median(runs.map((r) => r.result.rps / r.baseline.rps)),
    addedUs: median(runs.map((r) => addedMicros(r.result.rps, r.baseline.rps))),
    roundRatios: runs.map((r) => r.result.rps / r.baseline.rps),
    non2xx,
    non2xxShare: requests === 0 ? 0 : non2xx / requests,
    errors: runs.reduce((sum, r) => sum + r.result.errors + r.result.timeouts, 0),
    ...otherLoad(runs.map((r) => r.cpu)),
    ...cpuPerRequest(runs),
  };
}

/**
 * The CPU each request cost the server (and Redis), against the bare runs': unlike req/s, this
 * hardly moves when other processes take CPU away, so it is the steadier estimate of added µs.
 */
export function cpuPerRequest(runs: readonly HttpRun[]): Partial<HttpRow> {
  const known = runs.filter((r) => r.serverCpuUs !== undefined && r.baselineCpuUs !== undefined);
  if (known.length === 0) return {};
  const total = (r: HttpRun) => r.serverCpuUs! + (r.redisCpuUs ?? 0);
  const cpuUs = median(known.map(total));
  const baselineCpuUs = median(known.map((r) => r.baselineCpuUs!));
  return {
    cpuUs,
    ...(known.some((r) => r.redisCpuUs !== undefined)
      ? { redisCpuUs: median(known.map((r) => r.redisCpuUs ?? 0)) }
      : {}),
    baselineCpuUs,
    cpuAddedUs: median(known.map((r) => total(r) - r.baselineCpuUs!)),
    // Cores the server process kept busy: well under 1, and the load generator, not the server,
    // set the req/s.
    serverCores: median(known.map((r) => (r.serverCpuUs! * r.result.rps) / 1e6)),
  };
}

export function otherLoad(shares: ReadonlyArray<CpuShare | undefined>): { otherCores?: number } {
  const known = shares.filter((share) => share !== undefined);
  return known.length === 0 ? {} : { otherCores: median(known.map((share) => share.otherCores)) };
}
