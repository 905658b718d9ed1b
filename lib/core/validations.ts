import { TollgateError, type TollgateErrorCode } from '../errors/errors.js';
import type { KeySource } from '../options/options.js';
import type { RequestInfo } from './request.js';

/**
 * Mistakes that only show at run time, reported once per limiter with a stable code, as
 * express-rate-limit's validations are: a scope keyed on a route parameter mounted where no
 * route has it, a body scope ahead of the body parser, a limiter and a store on different
 * clocks, and proxy settings that let clients choose their address.
 */

/** The run-time checks, each of which `validate` can turn off. */
export type ValidationCheck = 'routeParam' | 'body' | 'clock' | 'proxy';

/** `true` (every check, the default), `false` (none), or some checks turned off by name. */
export type ValidateOption = boolean | Partial<Record<ValidationCheck, boolean>>;

/** Where each code is explained: docs/errors.md, one heading per code. */
export const ERRORS_PAGE = 'https://github.com/tollgate/tollgate/blob/main/docs/errors.md';

export function helpUrl(code: TollgateErrorCode): string {
  return `${ERRORS_PAGE}#${code.toLowerCase()}`;
}

export interface Validator {
  isOn(check: ValidationCheck): boolean;
  /** Reports the mistake `code` the first time it is seen by this limiter; later calls do nothing. */
  report(code: TollgateErrorCode, message: string): void;
}

/** The clock difference at which the limiter's and the store's clocks are not the same clock. */
const CLOCK_TOLERANCE_MS = 2000;

export function compileValidator(
  option: ValidateOption | undefined,
  onWarning: ((warning: TollgateError) => void) | undefined,
): Validator {
  const reported = new Set<TollgateErrorCode>();
  const warn = onWarning ?? ((warning: TollgateError) => console.warn(`${warning.code}: ${warning.message}`));
  return {
    isOn: (check) => (typeof option === 'object' ? option[check] !== false : option !== false),
    report(code, message) {
      if (reported.has(code)) return;
      reported.add(code);
      try {
        warn(new TollgateError(code, `tollgate: ${message} See ${helpUrl(code)}`));
      } catch {}
    },
  };
}

/**
 * What to check when a scope finds no key in a request: whether the request could have had
 * one at all where the middleware is mounted.
 */
export function missingKeyCheck<Raw>(
  source: KeySource<Raw>,
  scopeName: string,
  validator: Validator,
): ((req: RequestInfo<Raw>) => void) | undefined {
  if (typeof source !== 'object') return undefined;
  if ('param' in source && validator.isOn('routeParam')) {
    const name = source.param;
    return (req) => {
      if (req.params !== undefined && Object.hasOwn(req.params, name)) return;
      validator.report(
        'ERR_TOLLGATE_NO_ROUTE_PARAM',
        `scope "${scopeName}" is keyed on the route parameter "${name}", but it runs where the route has no such parameter (${req.method} ${req.path}), so every request there lacks the key. Mount it on the route itself, e.g. router.get('/banks/:${name}/…', limit, handler).`,
      );
    };
  }
  if ('body' in source && validator.isOn('body')) {
    return (req) => {
      if (req.body !== undefined || !hasBody(req)) return;
      validator.report(
        'ERR_TOLLGATE_BODY_NOT_PARSED',
        `scope "${scopeName}" is keyed on the body field "${source.body}", but ${req.method} ${req.path} came with a body that no body parser had parsed. Mount the body parser (express.json(), @koa/bodyparser) before the limiter.`,
      );
    };
  }
  return undefined;
}

function hasBody<Raw>(req: RequestInfo<Raw>): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Compares the store's clock with the limiter's at a decision. */
export function clockCheck(
  now: () => number,
  validator: Validator,
): ((storeNow: number) => void) | undefined {
  if (!validator.isOn('clock')) return undefined;
  let reported = false;
  return (storeNow) => {
    if (reported) return;
    const own = now();
    if (Math.abs(storeNow - own) <= CLOCK_TOLERANCE_MS) return;
    reported = true;
    validator.report(
      'ERR_TOLLGATE_CLOCK_MISMATCH',
      `the store's clock reads ${new Date(storeNow).toISOString()} but the limiter's now() reads ${new Date(own).toISOString()}: windows, Retry-After and the spending cap's day follow the store, so an injected clock must reach both. Give the store the same now (new MemoryStore({ now }), new RedisStore({ client, now })), or use createTollgate({ now }), whose default store takes it.`,
    );
  };
}
