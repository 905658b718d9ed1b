/**
 * A Koa 3 server for one scenario, started by bench/run.ts: `bare` or `tg-memory-4x2`.
 * The limiter is mounted on the @koa/router route so that `ctx.params.bankId` is set.
 */
import Router from '@koa/router';
import Koa, { type Context, type Middleware } from 'koa';
import { ROUTE } from '../support/keys.js';
import { fourByTwoOptions } from '../support/policies.js';
import { announce, optional } from './common.js';

const slug = process.env.BENCH_SCENARIO ?? 'bare';

async function limiterFor(name: string): Promise<Middleware | undefined> {
  if (name === 'bare') return undefined;
  if (name === 'tg-memory-4x2') {
    const { rateLimit } = await optional('lib/koa.ts', () => import('../../lib/koa.js'));
    return rateLimit(fourByTwoOptions<Context>());
  }
  throw new Error(`unknown Koa scenario ${name}`);
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
