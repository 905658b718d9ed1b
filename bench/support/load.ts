import autocannon from 'autocannon';
import { ipOf, partnerOf, pathOf, REFUSE_HEADER, userOf } from './keys.js';
import { median } from './stats.js';

export interface LoadShape {
  /** Distinct key values the requests cycle through. */
  readonly keys: number;
  /** Share of requests marked to be refused: 0 or 0.5 (every other request). */
  readonly refuseShare: number;
}

export interface LoadResult {
  /** Mean of autocannon's per-second request counts. */
  readonly rps: number;
  /** Latency percentiles, ms. */
  readonly p50: number;
  readonly p99: number;
  readonly requests: number;
  readonly ok: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
  /** How long the run took, s. */
  readonly seconds: number;
}

/**
 * Builds each request anew: the client address (`X-Forwarded-For`), partner and user headers
 * and the `bankId` in the path all move on to the next of `keys` values, so consecutive
 * requests hit different counters, as a real API's clients do.
 */
function setupRequest(shape: LoadShape): (req: autocannon.Request) => autocannon.Request {
  let n = 0;
  const refuseEvery = shape.refuseShare > 0 ? Math.round(1 / shape.refuseShare) : 0;
  return (req) => {
    const count = n++;
    const i = count % shape.keys;
    const headers: Record<string, string> = {
      'x-forwarded-for': ipOf(i),
      'x-partner-id': partnerOf(i),
      'x-user-id': userOf(i),
    };
    if (refuseEvery > 0 && count % refuseEvery === 0) headers[REFUSE_HEADER] = '1';
    return { ...req, method: 'GET', path: pathOf(i), headers };
  };
}

/** One autocannon run from this process (never the server's). */
export async function load(
  port: number,
  shape: LoadShape,
  durationS: number,
  connections: number,
  /** `amount`: a fixed number of requests instead of a duration; `timeoutS`: per request (autocannon's default 10). */
  { amount, timeoutS }: { amount?: number; timeoutS?: number } = {},
): Promise<LoadResult> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    pipelining: 1,
    ...(amount === undefined ? { duration: durationS } : { amount }),
    ...(timeoutS === undefined ? {} : { timeout: timeoutS }),
    requests: [{ method: 'GET', setupRequest: setupRequest(shape) }],
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    requests: result.requests.total,
    ok: result['2xx'],
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    seconds: result.duration,
  };
}

/**
 * One result for the slices of a server's load: their requests over their time, and the
 * median of their latency percentiles.
 */
export function combineSlices(slices: readonly LoadResult[]): LoadResult {
  const sum = (pick: (slice: LoadResult) => number) =>
    slices.reduce((total, slice) => total + pick(slice), 0);
  const requests = sum((slice) => slice.requests);
  const seconds = sum((slice) => slice.seconds);
  return {
    rps: requests / seconds,
    p50: median(slices.map((slice) => slice.p50)),
    p99: median(slices.map((slice) => slice.p99)),
    requests,
    ok: sum((slice) => slice.ok),
    non2xx: sum((slice) => slice.non2xx),
    errors: sum((slice) => slice.errors),
    timeouts: sum((slice) => slice.timeouts),
    seconds,
  };
}
