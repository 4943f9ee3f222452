import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { AppError, type ErrorBody } from '../../errors';
import type { Logger } from '../../logger';
import type { AppState } from '../context';

const HTTP_CODES: Record<number, string> = {
  404: 'ERR::API::NOT_FOUND',
  405: 'ERR::API::METHOD_NOT_ALLOWED',
  413: 'ERR::API::PAYLOAD_TOO_LARGE',
  415: 'ERR::API::UNSUPPORTED_MEDIA_TYPE',
  501: 'ERR::API::NOT_IMPLEMENTED',
};

/** Every failure leaves as {code, message, http_code, retryable}; never a stack. */
export function errorMiddleware(logger: Logger): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    ctx.state.requestId = randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      await next();
      if (ctx.body === undefined && (ctx.status === 404 || ctx.status === 405 || ctx.status === 501)) {
        // Unmatched route, or the router's allowedMethods() (which has set Allow).
        const what = ctx.status === 404 ? 'no route for' : 'method not allowed:';
        throw new AppError(HTTP_CODES[ctx.status]!, `${what} ${ctx.method} ${ctx.path}`, ctx.status);
      }
    } catch (err) {
      let body: ErrorBody;
      if (err instanceof AppError) {
        body = err.toBody();
      } else if (isHttpError(err) && err.status < 500) {
        // Koa/router errors (405 from allowedMethods, etc.) keep their status.
        body = {
          code: HTTP_CODES[err.status] ?? 'ERR::API::BAD_REQUEST',
          message: err.expose ? err.message : 'bad request',
          http_code: err.status,
          retryable: false,
        };
      } else {
        logger.error({ err, requestId: ctx.state.requestId, method: ctx.method, path: ctx.path }, 'unhandled error');
        body = {
          code: 'ERR::API::INTERNAL',
          message: `internal error; quote request id ${ctx.state.requestId} when reporting it`,
          http_code: 500,
          retryable: true,
        };
      }
      ctx.status = body.http_code;
      ctx.body = body;
      // http-errors carry headers of their own (Allow on a 405).
      const headers = (err as { headers?: Record<string, string> }).headers;
      if (headers && body.http_code < 500) ctx.set(headers);
    }
  };
}

function isHttpError(err: unknown): err is { status: number; message: string; expose?: boolean; headers?: Record<string, string> } {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number';
}
