import type { Application } from 'express';
import type { Validator } from '../core/validations.js';
import { TollgateConfigError } from '../errors/errors.js';

/**
 * Express settings under which `req.ip` is the left-most `X-Forwarded-For` entry, which the
 * client writes: `trust proxy` set to `true`, or to a subnet list or function that trusts
 * every address. Every request could then pick its own bucket.
 */

/** Express's compiled `trust proxy` functions, judged once each. */
const verdicts = new WeakMap<object, boolean>();

/**
 * Throws `ERR_TOLLGATE_UNSAFE_PROXY` for such a setting, and reports it once. Checked per
 * request: the middleware cannot see the app when it is built, and the setting may change.
 */
export function assertTrustworthyIp(app: Application, validator: Validator | undefined): void {
  if (validator?.isOn('proxy') === false) return;
  const settings = app.settings as Record<string, unknown>;
  if (settings['trust proxy'] !== true && !trustsEveryAddress(settings['trust proxy fn'])) return;
  const message =
    "'trust proxy' trusts every address, so req.ip is the left-most X-Forwarded-For entry, which any client can forge to dodge its limits. Set it to the number of proxies in front of the app (app.set('trust proxy', 1)) or their addresses.";
  validator?.report('ERR_TOLLGATE_UNSAFE_PROXY', message);
  throw new TollgateConfigError('ERR_TOLLGATE_UNSAFE_PROXY', 'app.trust proxy', `tollgate: ${message}`);
}

function trustsEveryAddress(trust: unknown): boolean {
  if (typeof trust !== 'function') return false;
  let verdict = verdicts.get(trust);
  if (verdict === undefined) {
    verdict = probe(trust as (address: string, hop: number) => unknown);
    verdicts.set(trust, verdict);
  }
  return verdict;
}

/**
 * A hop count trusts any address up to its count, and a subnet list only its subnets: a setting
 * that trusts a public address (one from each documentation range) at a far hop trusts them all.
 */
function probe(trust: (address: string, hop: number) => unknown): boolean {
  try {
    return trust('203.0.113.1', 64) === true || trust('2001:db8::1', 64) === true;
  } catch {
    return false;
  }
}
