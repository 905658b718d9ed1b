import type { Decision } from '../core/decision.js';
import type { Limiter } from '../core/limiter.js';

/**
 * The decision of a request rides on Node's request object under a symbol, as Node keeps its
 * own per-request state: stacked middleware combine with what an earlier one decided whatever
 * the application does with `req.rateLimit` or `ctx.state`, and it goes with the request. A
 * WeakMap would do the same, but makes the garbage collector trace every request it holds.
 */
const DECISION = Symbol('tollgate.decision');
type Carrier = { [DECISION]?: Decision };

/** A decision combined with the one an earlier tollgate middleware left on the same request. */
export interface Stacked {
  readonly combined: Decision;
  /** The earlier middleware's decision, whose charges a refusal here must give back. */
  readonly earlier: Decision | undefined;
  /** Whether the request is to be answered with a refusal (not in shadow mode). */
  readonly refused: boolean;
}

export function stackDecision<Raw>(limiter: Limiter<Raw>, request: object, decision: Decision): Stacked {
  const earlier = (request as Carrier)[DECISION];
  const combined = earlier === undefined ? decision : limiter.combine(earlier, decision);
  (request as Carrier)[DECISION] = combined;
  return { combined, earlier, refused: !(combined.allowed || combined.shadow) };
}

/** The decision tollgate made for a Node request, combined across stacked middleware. */
export function decisionFor(request: object): Decision | undefined {
  return (request as Carrier)[DECISION];
}
