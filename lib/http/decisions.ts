import type { Decision } from '../core/decision.js';
import type { Limiter } from '../core/limiter.js';

/**
 * The decision of each request in flight, keyed by Node's request object, so that stacked
 * middleware combine with what an earlier one decided whatever the application does with
 * `req.rateLimit` or `ctx.state`. Entries go with their requests.
 */
const decisions = new WeakMap<object, Decision>();

/** A decision combined with the one an earlier tollgate middleware left on the same request. */
export interface Stacked {
  readonly combined: Decision;
  /** The earlier middleware's decision, whose charges a refusal here must give back. */
  readonly earlier: Decision | undefined;
  /** Whether the request is to be answered with a refusal (not in shadow mode). */
  readonly refused: boolean;
}

export function stackDecision<Raw>(limiter: Limiter<Raw>, request: object, decision: Decision): Stacked {
  const earlier = decisions.get(request);
  const combined = earlier === undefined ? decision : limiter.combine(earlier, decision);
  decisions.set(request, combined);
  return { combined, earlier, refused: !(combined.allowed || combined.shadow) };
}

/** The decision tollgate made for a Node request, combined across stacked middleware. */
export function decisionFor(request: object): Decision | undefined {
  return decisions.get(request);
}
