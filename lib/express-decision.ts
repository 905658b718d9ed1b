import { IncomingMessage } from 'node:http';
import type { Request, Response } from 'express';
import type { Decision } from './decision.js';

/**
 * Where an Express request's decision is kept, and how `req.rateLimit` reads it.
 *
 * Express changes each request's prototype (`Object.setPrototypeOf(req, app.request)`), and
 * V8 then gives the request hidden classes of its own that no inline cache can learn: a
 * property added to `req` is added through the runtime, building a new hidden class for every
 * request. That one assignment, `req.rateLimit = decision`, cost 23k to 32k instructions per
 * request in three callgrind runs, 4–5 % of a bare Express request; kept as below, 7k
 * (`bench/profiles/instructions-express-req-property.txt`, `req-property` and `req-locals`).
 *
 * So the decision goes in `res.locals`, which Express makes per request as a null-prototype
 * dictionary where adding a key builds nothing, and `req.rateLimit` is an accessor that reads
 * it from there, defined once on Express's base request object (`express.request`, which
 * Express documents as the place to extend its requests). There rather than on one app's
 * `app.request`: an app can be mounted in another after it has served requests, or in several
 * apps, and Express re-parents its request prototype each time, so no one app's prototype is
 * under every request the decision must be read on. For requests no tollgate middleware
 * decided, the accessor reads `undefined`, as the missing property did.
 *
 * Reading and assigning work as on an own property. Unlike one: `rateLimit` is not among the
 * request's own keys, `'rateLimit' in req` is true on every request of that Express, and code
 * that replaces `res.locals` wholesale (rather than adding to it) drops the decision. A request
 * without `res.locals` (not served by Express) gets an own property, as before.
 */
// Registered, so that two copies of tollgate in one process (its ESM and CommonJS builds, say)
// read and combine each other's decisions, as they did through the own property.
const DECISION = Symbol.for('tollgate.decision');
/** Marks the accessor's getter as tollgate's, whichever copy defined it. */
const ACCESSOR = Symbol.for('tollgate.decision.accessor');

type Locals = Record<PropertyKey, unknown>;

function localsOf(res: Response | undefined): Locals | undefined {
  return res?.locals as Locals | undefined;
}

/** Request prototypes seen, and whether `req.rateLimit` reads `res.locals` under them. */
const exposing = new WeakMap<object, boolean>();

/**
 * The decision an earlier tollgate middleware left on the request. Anything else found there
 * (express-rate-limit also writes `req.rateLimit` by default) is not one to combine with.
 */
export function decisionOn(req: Request, res: Response | undefined = req.res): Decision | undefined {
  const kept = localsOf(res)?.[DECISION];
  const found = kept !== undefined ? kept : Object.hasOwn(req, 'rateLimit') ? req.rateLimit : undefined;
  return isDecision(found) ? found : undefined;
}

function isDecision(value: unknown): value is Decision {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Decision).allowed === 'boolean' &&
    Array.isArray((value as Decision).policies)
  );
}

export function putDecision(req: Request, res: Response, decision: Decision): void {
  const locals = localsOf(res);
  const prototype = Object.getPrototypeOf(req) as object | null;
  if (locals === undefined || prototype === null || !exposes(prototype)) {
    ownRateLimit(req, decision);
    return;
  }
  locals[DECISION] = decision;
  // Assigned before the accessor existed (the first request through this Express): an own
  // property would hide the accessor. The decision replaces it, as an assignment would have.
  if (Object.hasOwn(req, 'rateLimit')) delete (req as { rateLimit?: Decision }).rateLimit;
}

function exposes(prototype: object): boolean {
  let known = exposing.get(prototype);
  if (known === undefined) {
    known = expose(prototype);
    exposing.set(prototype, known);
  }
  return known;
}

/**
 * Defines the `rateLimit` accessor on Express's base request object: the last prototype before
 * Node's `IncomingMessage.prototype`. Without that chain (a request Express did not set up), or
 * when that object already has a `rateLimit` of someone else's, nothing is defined and the
 * decision is an own property of the request.
 */
function expose(prototype: object): boolean {
  let base: object | undefined;
  for (let at: object | null = prototype; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    if (Object.getPrototypeOf(at) === IncomingMessage.prototype) {
      base = at;
      break;
    }
  }
  if (base === undefined) return false;
  const existing = Object.getOwnPropertyDescriptor(base, 'rateLimit');
  if (existing !== undefined)
    return (existing.get as { [ACCESSOR]?: boolean } | undefined)?.[ACCESSOR] === true;
  const get = function rateLimit(this: Request): Decision | undefined {
    return localsOf(this.res)?.[DECISION] as Decision | undefined;
  };
  Object.defineProperty(get, ACCESSOR, { value: true });
  Object.defineProperty(base, 'rateLimit', {
    configurable: true,
    enumerable: false,
    get,
    set(this: Request, value: Decision | undefined) {
      const locals = localsOf(this.res);
      if (locals === undefined) ownRateLimit(this, value);
      else locals[DECISION] = value;
    },
  });
  return true;
}

function ownRateLimit(req: object, value: Decision | undefined): void {
  Object.defineProperty(req, 'rateLimit', { value, writable: true, enumerable: true, configurable: true });
}
