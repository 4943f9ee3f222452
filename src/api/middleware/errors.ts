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
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError('ERR::API::NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`, 404);
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
      if (err instanceof AppError && err.details?.allow) ctx.set('Allow', String(err.details.allow));
    }
  };
}

function isHttpError(err: unknown): err is { status: number; message: string; expose?: boolean } {
  return typeof err === 'object' && err !== null && typeof (err as { status?: unknown }).status === 'number';
}
