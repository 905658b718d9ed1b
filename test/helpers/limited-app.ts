import express from 'express';
import Koa from 'koa';
import request from 'supertest';
import { rateLimit as expressRateLimit } from '../../lib/express/index.js';
import { rateLimit as koaRateLimit } from '../../lib/koa/index.js';
import type { TollgateOptions } from '../../lib/options/options.js';

/** An app with one limiter on every path, each answering 200 `ok` when admitted; a supertest client. */
export function limitedApp(framework: 'express' | 'koa', options: TollgateOptions) {
  if (framework === 'express') {
    const app = express();
    app.use(expressRateLimit(options));
    app.get('/{*rest}', (_req, res) => {
      res.send('ok');
    });
    return request(app);
  }
  const app = new Koa();
  app.use(koaRateLimit(options));
  app.use((ctx) => {
    ctx.body = 'ok';
  });
  return request(app.callback());
}
