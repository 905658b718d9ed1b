import Koa3 from 'koa';

// The npm alias of Koa 2 ships no types; its API is Koa 3's.
export const Koa2 = require('koa2') as typeof Koa3;
export { Koa3 };

/** Both supported Koa majors, for `describe.each`. */
export const koaVersions = [
  ['koa 3', Koa3],
  ['koa 2', Koa2],
] as const;
