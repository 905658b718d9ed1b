import type { RequestInfo } from '../../lib/index.js';

/**
 * The key values every scenario draws from, shared by the load generator and the micro
 * benchmarks so that both count the same strings.
 */

/** The i-th client address, `10.a.b.c`: distinct for i below 2^24. */
export function ipOf(i: number): string {
  return `10.${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}`;
}

export const partnerOf = (i: number): string => `partner-${i}`;
export const userOf = (i: number): string => `user-${i}`;
export const bankOf = (i: number): string => `bank-${i}`;

/** The route every HTTP scenario serves; `bankId` feeds the `bank` scope. */
export const ROUTE = '/v1/banks/:bankId/transactions';
export const pathOf = (i: number): string => `/v1/banks/${bankOf(i)}/transactions`;

/** Request descriptions for the micro benchmarks: the i-th client, partner, user and bank. */
export function requestsFor(count: number): RequestInfo<null>[] {
  return Array.from({ length: count }, (_, i) => ({
    ip: ipOf(i),
    method: 'GET',
    path: pathOf(i),
    headers: { 'x-partner-id': partnerOf(i), 'x-user-id': userOf(i) },
    params: { bankId: bankOf(i) },
    raw: null,
  }));
}

/** Sent on the requests a scenario wants refused (scenario 6): they cost more than any limit holds. */
export const REFUSE_HEADER = 'x-bench-refuse';
