import { isPromiseLike, type MaybePromise } from './maybe-promise.js';

/** A cost, or `undefined` when it is not a non-negative safe integer (`1.5`, `-1`, `NaN`): the request is then a 400. */
export function checkedCost(value: number): number | undefined {
  return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
}

/** A cost function's answer checked as `checkedCost` does, once it has one: the scopes' costs and the cap's. */
export function checkedCostOf(value: MaybePromise<number>): MaybePromise<number | undefined> {
  return isPromiseLike(value) ? Promise.resolve(value).then(checkedCost) : checkedCost(value);
}
