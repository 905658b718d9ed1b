import type { Context, Middleware, Next } from 'koa';
import { type ErrorAnswer, HttpError, renderError } from '../errors/http-errors.js';
import { decisionFor } from '../http/decisions.js';
import { requestIdOf } from '../http/request-id.js';
import { type Serializer, serializers } from '../serializers/index.js';

/** The application's other errors, answered in the same schema as the refusals. */

export interface KoaErrorHandlerOptions {
  /** Renders the body: give it the limiter's serializer so that a 404 looks like a 429. Defaults to `serializers.problem`. */
  serializer?: Serializer;
  /** Also answers a request nothing answered (Koa's bare `404 Not Found`) in the schema. Defaults to `true`. */
  notFound?: boolean;
}

/**
 * Koa middleware answering every error thrown downstream in one schema, as `errorHandler` in
 * `tollgate/express` does: `HttpError`s and http-errors (`ctx.throw(404, 'No such user', { code })`)
 * keep their status, code, message, details and headers; a malformed JSON body is a 400;
 * anything else is a 500 that shows nothing of the error. Mount it first. Following Koa's own
 * handler, every error is emitted on `app` (Koa's default listener logs the unexposed ones) and
 * the headers the failed handler had set are dropped, except the error's own and tollgate's
 * rate-limit headers.
 * @example
 * app.use(errorHandler({ serializer: serializers.firsthand }));
 */
export function errorHandler(options: KoaErrorHandlerOptions = {}): Middleware {
  const serializer = options.serializer ?? serializers.problem;
  const notFound = options.notFound !== false;

  return async function tollgateErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (error) {
      // Past the headers there is nothing left to answer: the error goes on to Koa's own handler.
      if (ctx.headerSent || !ctx.writable) throw error;
      ctx.app.emit('error', error, ctx);
      const requestId = ctx.response.get('X-Request-Id') || requestIdOf(ctx.headers);
      for (const name of ctx.res.getHeaderNames()) ctx.res.removeHeader(name);
      answer(ctx, renderError(error, { serializer, requestId }));
      return;
    }
    if (notFound && ctx.status === 404 && ctx.body == null) {
      const requestId = ctx.response.get('X-Request-Id') || requestIdOf(ctx.headers);
      answer(ctx, renderError(new HttpError(404), { serializer, requestId }));
    }
  };
}

function answer(ctx: Context, error: ErrorAnswer): void {
  for (const [name, value] of decisionFor(ctx.req)?.headers ?? []) ctx.set(name, value);
  for (const [name, value] of error.headers) ctx.set(name, value);
  send(ctx, error);
}

/** Koa's way to answer: status, then type, then body, so that Koa infers neither. */
export function send(ctx: Context, answer: Answer): void {
  ctx.status = answer.status;
  ctx.set('X-Request-Id', answer.requestId);
  ctx.type = answer.contentType;
  ctx.set('Cache-Control', 'no-store');
  ctx.body = answer.body;
}

/** A refusal or an error's answer, rendered. */
interface Answer {
  readonly status: number;
  readonly requestId: string;
  readonly contentType: string;
  readonly body: string;
}
