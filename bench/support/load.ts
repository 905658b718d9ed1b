import autocannon from 'autocannon';
import { ipOf, KEYS, partnerOf, pathOf, REFUSE_HEADER, userOf } from './policies.js';

export interface Slice {
  readonly requests: number;
  readonly seconds: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly p99: number;
}

/**
 * Builds each request anew: the client address (`X-Forwarded-For`), partner and user headers
 * and the `bankId` in the path move on to the next of 10,000 values, so consecutive requests
 * hit different counters; with `refuseShare` 0.5 every other request asks to be refused.
 */
function setupRequest(refuseShare: number): (req: autocannon.Request) => autocannon.Request {
  let n = 0;
  return (req) => {
    const count = n++;
    const i = count % KEYS;
    const headers: Record<string, string> = {
      'x-forwarded-for': ipOf(i),
      'x-partner-id': partnerOf(i),
      'x-user-id': userOf(i),
    };
    if (refuseShare > 0 && count % Math.round(1 / refuseShare) === 0) headers[REFUSE_HEADER] = '1';
    return { ...req, method: 'GET', path: pathOf(i), headers };
  };
}

/** One autocannon run from the runner's process (never the server's). */
export async function load(
  port: number,
  seconds: number,
  connections: number,
  refuseShare: number,
): Promise<Slice> {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}`,
    connections,
    duration: seconds,
    requests: [{ method: 'GET', setupRequest: setupRequest(refuseShare) }],
  });
  return {
    requests: result.requests.total,
    seconds: result.duration,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
    p99: result.latency.p99,
  };
}
