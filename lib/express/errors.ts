import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import { type ErrorAnswer, HttpError, renderError } from '../errors/http-errors.js';
import { decisionFor } from '../http/decisions.js';
import { requestIdOf } from '../http/request-id.js';
import { type Serializer, serializers } from '../serializers/index.js';

/** The application's other errors, answered in the same schema as the refusals. */

export interface ErrorHandlerOptions {
  /** Renders the body: give it the limiter's serializer so that a 404 looks like a 429. Defaults to `serializers.problem`. */
  serializer?: Serializer;
  /**
   * Told of each error the handler hid behind a generic answer (anything that is not an
   * `HttpError`-like error meant for the client). Defaults to `console.error`, except when
   * `NODE_ENV` is `test`, as Express's own final handler does.
   */
  onError?: (error: unknown, req: Request) => void;
}

/**
 * Express error-handling middleware that answers every error in one schema: `HttpError`s (and
 * http-errors-like objects) keep their status, code, message and details; a malformed JSON body
 * is a 400; anything else is a 500 that shows nothing of the error. The request id (an incoming
 * `X-Request-Id`, sanitised, else a new one) is in the body where the schema has room for it and
 * in the `X-Request-Id` header. Mount it after every route.
 * @example
 * app.use(errorHandler({ serializer: serializers.fastino }));
 */
export function errorHandler(options: ErrorHandlerOptions = {}): ErrorRequestHandler {
  const serializer = options.serializer ?? serializers.problem;
  const onError = options.onError ?? (process.env.NODE_ENV === 'test' ? undefined : logError);

  return function tollgateErrors(err: unknown, req: Request, res: Response, next: NextFunction): void {
    // Too late to answer: Express's final handler closes the connection.
    if (res.headersSent) {
      next(err);
      return;
    }
    const answer = renderError(err, {
      serializer,
      requestId: responseRequestId(res) ?? requestIdOf(req.headers),
    });
    if (!answer.expected && onError !== undefined) {
      try {
        onError(err, req);
      } catch {}
    }
    sendAnswer(res, answer);
  };
}

export interface NotFoundOptions {
  /** Renders the body: give it the limiter's serializer. Defaults to `serializers.problem`. */
  serializer?: Serializer;
}

/**
 * Express middleware answering a request no route answered with a 404 in the schema, with
 * the rate-limit headers of the limiters it passed through: Express's own is an HTML page. Mount
 * it after every route, before `errorHandler`.
 * @example
 * app.use(notFound({ serializer: serializers.fastino }));
 * app.use(errorHandler({ serializer: serializers.fastino }));
 */
export function notFound(options: NotFoundOptions = {}): RequestHandler {
  const serializer = options.serializer ?? serializers.problem;
  return function tollgateNotFound(req: Request, res: Response, next: NextFunction): void {
    if (res.headersSent) {
      next();
      return;
    }
    const requestId = responseRequestId(res) ?? requestIdOf(req.headers);
    for (const [name, value] of decisionFor(req)?.headers ?? []) res.setHeader(name, value);
    sendAnswer(res, renderError(new HttpError(404), { serializer, requestId }));
  };
}

/** Sends an error's answer: status, the error's headers, the request id, the body. */
export function sendAnswer(res: Response, answer: ErrorAnswer): void {
  res.statusCode = answer.status;
  for (const [name, value] of answer.headers) res.setHeader(name, value);
  res.setHeader('X-Request-Id', answer.requestId);
  res.setHeader('Content-Type', answer.contentType);
  res.setHeader('Content-Length', Buffer.byteLength(answer.body));
  res.setHeader('Cache-Control', 'no-store');
  res.end(answer.body);
}

/** An id the application already set on the response (its own request-id middleware) wins. */
function responseRequestId(res: Response): string | undefined {
  const id = res.getHeader('X-Request-Id');
  return typeof id === 'string' && id !== '' ? id : undefined;
}

function logError(error: unknown): void {
  console.error(error);
}
