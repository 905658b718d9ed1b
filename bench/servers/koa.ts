/**
 * A Koa 3 server for one scenario, started by bench/run.ts: `bare`, `tg-memory-4x2` or
 * `floor-4x2` (the 4 × 2 policy's floor, support/floor.ts).
 * The limiter is mounted on the @koa/router route so that `ctx.params.bankId` is set.
 */
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import type { Decision } from '../../lib/index.js';
import { createFloor, FLOOR_SCOPES, floorRateLimitField } from '../support/floor.js';
import { ROUTE } from '../support/keys.js';
import { fourByTwoOptions } from '../support/policies.js';
import { announce, optional } from './common.js';

const slug = process.env.BENCH_SCENARIO ?? 'bare';

async function limiterFor(name: string): Promise<Middleware | undefined> {
  if (name === 'bare') return undefined;
  if (name === 'tg-memory-4x2') {
    const { rateLimit } = await optional('lib/koa.ts', () => import('../../lib/koa/index.js'));
    return rateLimit(fourByTwoOptions<Context>());
  }
  if (name === 'floor-4x2') return koaFloor();
  throw new Error(`unknown Koa scenario ${name}`);
}

/**
 * The 4 × 2 policy's floor in Koa: the key values read, the policy counted in plain Maps, the
 * result on `ctx.state.rateLimit` and the two IETF fields written, as tollgate's middleware does.
 */
function koaFloor(): Middleware {
  const floor = createFloor({ scopes: FLOOR_SCOPES });
  return function koaFloor(ctx: Context, next: () => Promise<void>): Promise<void> {
    const now = Date.now();
    const headers = ctx.headers;
    const values = [
      ctx.ip || undefined,
      headers['x-partner-id'] as string | undefined,
      headers['x-user-id'] as string | undefined,
      (ctx as Context & { params: Record<string, string> }).params.bankId,
    ];
    const result = floor.count(values, now, { allowed: true, remaining: 0, resetAt: 0 });
    ctx.state.rateLimit = result as unknown as Decision;
    ctx.res.setHeader('RateLimit-Policy', floor.policyField);
    ctx.res.setHeader('RateLimit', floorRateLimitField('ip', result, now));
    return next();
  };
}

const limiter = await limiterFor(slug);
// One trusted proxy: ctx.ip is the last X-Forwarded-For entry, as Express's `trust proxy` 1.
const app = new Koa({ proxy: true, maxIpsCount: 1 });
const router = new Router();

async function answer(ctx: Context): Promise<void> {
  ctx.body = { ok: true };
}

if (limiter === undefined) router.get(ROUTE, answer);
else router.get(ROUTE, limiter, answer);
app.use(router.routes());

const server = app.listen(0, '127.0.0.1', () => announce(server));
