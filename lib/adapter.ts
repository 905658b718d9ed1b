import type { Decision } from './decision.js';
import type { Limiter } from './limiter.js';
import type { MaybePromise } from './maybe-promise.js';
import type { RequestInfo } from './request.js';

/**
 * How an adapter asks a limiter for a decision: `decide`, which answers without a promise when
 * it can, or `check` for a limiter that has no `decide` (one written by hand against an earlier
 * `Limiter`, or from another copy of tollgate).
 */
export function decisionOf<Raw>(
  limiter: Limiter<Raw>,
): (req: RequestInfo<Raw>) => MaybePromise<Decision | undefined> {
  if (typeof limiter.decide === 'function') return (req) => limiter.decide(req);
  return (req) => limiter.check(req);
}
