import { randomUUID } from 'node:crypto';
import type Koa from 'koa';
import { AppError, type ErrorBody, type ErrorCode } from '../../errors';
import type { Logger } from '../../logger';
import type { AppState } from '../context';
import { errorPage } from '../../web/pages/auth';
import { FIRECRAWL_PREFIX } from '../routes/firecrawl/paths';
import { CRAWLER_PATH, crawlerErrorBody } from '../routes/crawler/paths';
import { isDatabaseUnavailable } from '../../db/errors';

// Statuses Koa or the router answer by themselves, with the code each one gets.
const HTTP_CODES: Partial<Record<number, ErrorCode>> = {
  404: 'ERR::API::NOT_FOUND',
  405: 'ERR::API::METHOD_NOT_ALLOWED',
  413: 'ERR::API::PAYLOAD_TOO_LARGE',
  415: 'ERR::API::UNSUPPORTED_MEDIA_TYPE',
  501: 'ERR::API::NOT_IMPLEMENTED',
};

// Statuses the router leaves without a body, and how the error names the request.
const ROUTER_STATUSES: Partial<Record<number, { code: ErrorCode; what: string }>> = {
  404: { code: 'ERR::API::NOT_FOUND', what: 'no route for' },
  405: { code: 'ERR::API::METHOD_NOT_ALLOWED', what: 'method not allowed:' },
  501: { code: 'ERR::API::NOT_IMPLEMENTED', what: 'method not allowed:' },
};

/**
 * Every failure leaves as {code, message, http_code, retryable, error_id},
 * never with a stack. The error_id is new for each error and is in the log
 * line written for it, so a client quoting it leads to that line.
 */
export function errorMiddleware(logger: Logger): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    ctx.state.requestId = randomUUID();
    ctx.set('X-Request-Id', ctx.state.requestId);
    try {
      await next();
      const unanswered = ctx.body === undefined ? ROUTER_STATUSES[ctx.status] : undefined;
      if (unanswered) {
        // Unmatched route, or the router's allowedMethods() (which has set Allow).
        throw new AppError(unanswered.code, `${unanswered.what} ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const errorId = randomUUID();
      let body: ErrorBody;
      if (err instanceof AppError) {
        body = err.toBody(errorId);
      } else if (isHttpError(err) && err.status < 500) {
        // Koa/router errors (405 from allowedMethods, etc.) keep their status.
        body = new AppError(HTTP_CODES[err.status] ?? 'ERR::API::BAD_REQUEST', err.expose ? err.message : 'bad request').toBody(errorId);
        body.http_code = err.status;
      } else if (isDatabaseUnavailable(err)) {
        // An outage, not a bug: the client may retry, and we recover without a restart.
        body = new AppError('ERR::DATABASE::UNAVAILABLE', 'the database is unavailable right now; retry shortly').toBody(errorId);
      } else {
        body = new AppError('ERR::API::INTERNAL', `internal error; quote error id ${errorId} when reporting it`).toBody(errorId);
      }
      // Before the log line, so it records the code the client is given.
      if (CRAWLER_PATH.test(ctx.path)) body = crawlerErrorBody(body);
      // A path no route of ours matched is whatever the client typed (a key
      // pasted in the wrong place, say): it and the message echoing it stay out of the log.
      const route = (ctx as { _matchedRoute?: unknown })._matchedRoute;
      const routed = typeof route === 'string';
      const fields = {
        error_id: errorId,
        code: body.code,
        http_code: body.http_code,
        method: ctx.method,
        path: routed ? ctx.path : '(no route)',
        ...(routed ? { route } : {}),
        requestId: ctx.state.requestId,
      };
      // A 5xx is ours to fix: with its stack. A 4xx is the client's, routine: one line.
      // An outage fails every request alike: one warning line each, without a stack.
      if (body.code === 'ERR::DATABASE::UNAVAILABLE')
        logger.warn({ ...fields, reason: (err as Error).message }, 'request failed: database unavailable');
      else if (body.http_code >= 500) logger.error({ ...fields, err }, 'request failed');
      else logger.info({ ...fields, ...(routed ? { message: body.message } : {}) }, 'request refused');

      // Under /v1 and /v2 the Firecrawl clients read `error` (the message) and
      // `code`, and the v2 client retries any request, POST included, on a
      // 502: so there the body is Firecrawl's {success: false, error, ...}
      // around ours, and a 502 (none of these routes should raise one) leaves
      // as 503, which no client repeats on its own.
      if (FIRECRAWL_PREFIX.test(ctx.path)) {
        if (body.http_code === 502) body.http_code = 503;
        body = { success: false, error: body.message, ...body } as ErrorBody;
      }
      ctx.status = body.http_code;
      if (ctx.path === '/dashboard' || ctx.path.startsWith('/dashboard/')) {
        // People get a page; the message is escaped by the template.
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = errorPage(body).value;
        return;
      }
      // Exactly application/json, no charset: the Scrapfly SDK recognizes an
      // error document on /screenshot by comparing this header verbatim.
      ctx.set('Content-Type', 'application/json');
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
