import type { RequestInfo } from '../../lib/core/request.js';

/** A request description as an adapter would build it. */
export function requestFrom(overrides: Partial<RequestInfo<null>> = {}): RequestInfo<null> {
  return { ip: '203.0.113.7', method: 'GET', path: '/', headers: {}, raw: null, ...overrides };
}
