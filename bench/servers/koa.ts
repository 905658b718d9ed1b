/**
 * A Koa 3 server for one scenario, started by the runner: `bare` or `tg-4x2` (tollgate from
 * `TOLLGATE_DIST`). The limiter is mounted on the @koa/router route so that `ctx.params.bankId`
 * is set; one trusted proxy, as the Express servers.
 */
import Router from '@koa/router';
import Koa, { type Context } from 'koa';
import { fourByTwo, ROUTE } from '../support/policies.js';
import { loadTollgate } from '../support/tollgate.js';
import { announce } from './common.js';

const name = process.env.BENCH_SCENARIO ?? 'bare';
if (name !== 'bare' && name !== 'tg-4x2') throw new Error(`unknown Koa scenario ${name}`);

const app = new Koa({ proxy: true, maxIpsCount: 1 });
const router = new Router();
const answer = async (ctx: Context): Promise<void> => {
  // Read the decision as an application would; a missing one answers 500.
  if (name !== 'bare' && ctx.state.rateLimit === undefined) ctx.status = 500;
  ctx.body = { ok: true };
};
if (name === 'bare') router.get(ROUTE, answer);
else router.get(ROUTE, (await loadTollgate()).koa.rateLimit(fourByTwo()), answer);
app.use(router.routes());

const server = app.listen(0, '127.0.0.1', () => announce(server));
