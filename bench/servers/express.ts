/**
 * An Express 5 server for one scenario, started by bench/run.ts: `BENCH_SCENARIO` names the
 * middleware (see express-middleware.ts), `REDIS_PORT` the runner's redis-server.
 * Client addresses come from `X-Forwarded-For` behind one trusted proxy, as the load sets it.
 */
import express, { type Request, type Response } from 'express';
import { ROUTE } from '../support/keys.js';
import { announce } from './common.js';
import { expressMiddleware } from './express-middleware.js';

const { middleware, close } = await expressMiddleware(process.env.BENCH_SCENARIO ?? 'bare');

const app = express();
app.set('trust proxy', 1);

function answer(_req: Request, res: Response): void {
  res.json({ ok: true });
}

if (middleware === undefined) app.get(ROUTE, answer);
else app.get(ROUTE, middleware, answer);

const server = app.listen(0, '127.0.0.1', () => announce(server, close));
