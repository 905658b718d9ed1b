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
 * dictionary where adding a key builds nothing, and `req.rateLimit` is an accessor on the app's
 * request prototype (`app.request`, which Express documents as the place to extend its
 * requests) that reads it from there. Reading, assigning and `in` work as they did on an own
 * property; the property is just not among `req`'s own keys, and code that replaces
 * `res.locals` wholesale (rather than adding to it) takes the decision with it. A request
 * without `res.locals` (not served by Express) gets an own property, as before.
 */
// Registered, so that two copies of tollgate in one process (its ESM and CommonJS builds, say)
// read and combine each other's decisions, as they did through the own property.
const DECISION = Symbol.for('tollgate.decision');

type Locals = Record<PropertyKey, unknown>;

/** Request prototypes seen, and whether `req.rateLimit` reads `res.locals` under them. */
const exposing = new WeakMap<object, boolean>();

export function decisionOn(req: Request, res: Response | undefined = req.res): Decision | undefined {
  const kept = (res?.locals as Locals | undefined)?.[DECISION] as Decision | undefined;
  if (kept !== undefined) return kept;
  return Object.hasOwn(req, 'rateLimit') ? req.rateLimit : undefined;
}

export function putDecision(req: Request, res: Response, decision: Decision): void {
  const locals = res.locals as Locals | undefined;
  const prototype = Object.getPrototypeOf(req) as object | null;
  if (locals !== undefined && prototype !== null && exposes(prototype)) locals[DECISION] = decision;
  else ownRateLimit(req, decision);
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
 * Defines the `rateLimit` accessor on the outermost app's request prototype (`app.request`),
 * which its mounted sub-apps' request prototypes inherit from: the decision reads the same in
 * the app and in its sub-apps, and other apps' requests are left alone. That prototype is the
 * one just under Express's base request object, itself just under Node's `IncomingMessage`.
 * Without that chain (a request Express did not set up), nothing is defined: the decision is
 * then an own property of the request.
 */
function expose(prototype: object): boolean {
  const chain: object[] = [];
  for (let at: object | null = prototype; at !== null; at = Object.getPrototypeOf(at) as object | null) {
    if (at === IncomingMessage.prototype) break;
    chain.push(at);
  }
  if (chain.length < 2 || Object.getPrototypeOf(chain.at(-1)!) !== IncomingMessage.prototype) return false;
  const appRequest = chain.at(-2)!;
  if (!Object.hasOwn(appRequest, 'rateLimit'))
    Object.defineProperty(appRequest, 'rateLimit', {
      configurable: true,
      enumerable: false,
      get(this: Request): Decision | undefined {
        return (this.res?.locals as Locals | undefined)?.[DECISION] as Decision | undefined;
      },
      set(this: Request, value: Decision | undefined) {
        const locals = this.res?.locals as Locals | undefined;
        if (locals === undefined) ownRateLimit(this, value);
        else locals[DECISION] = value;
      },
    });
  return true;
}

function ownRateLimit(req: Request, value: Decision | undefined): void {
  Object.defineProperty(req, 'rateLimit', { value, writable: true, enumerable: true, configurable: true });
}
