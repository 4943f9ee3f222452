import type Koa from 'koa';
import { AppError, ValidationError } from '../../errors';
import type { AppState } from '../context';

declare module 'koa' {
  interface Request {
    body?: unknown;
  }
}

/**
 * Reads a JSON body (only JSON: anything else is 415) up to `limit` bytes
 * (413 past it). Requests without a body leave ctx.request.body undefined.
 */
export function jsonBody(limit: number): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const length = ctx.request.length;
    const hasBody = (length !== undefined && length > 0) || ctx.get('transfer-encoding') !== '';
    if (!hasBody || ['GET', 'HEAD', 'DELETE'].includes(ctx.method)) return next();
    // Dashboard forms post as browsers do; the API takes JSON only.
    const form = ctx.path.startsWith('/dashboard/') && ctx.request.is('application/x-www-form-urlencoded') !== false;
    if (!form && !ctx.request.is('application/json')) {
      throw new AppError('ERR::API::UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
    }
    if (length !== undefined && length > limit) throw tooLarge(limit);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req) {
      size += (chunk as Buffer).length;
      if (size > limit) throw tooLarge(limit);
      chunks.push(chunk as Buffer);
    }
    const text = Buffer.concat(chunks).toString('utf8');
    if (form) {
      ctx.request.body = Object.fromEntries(new URLSearchParams(text));
      return next();
    }
    if (text.trim() !== '') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (err) {
        throw new ValidationError(`request body is not valid JSON: ${(err as Error).message}`);
      }
      // No request of ours nests deeply; refusing here keeps every later walk bounded.
      if (depthExceeds(parsed, MAX_DEPTH)) throw new ValidationError(`request body is nested deeper than ${MAX_DEPTH} levels`);
      ctx.request.body = parsed;
    }
    return next();
  };
}

const MAX_DEPTH = 32;

/** Iterative, so the check itself cannot overflow the stack. */
function depthExceeds(root: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[root, 1]];
  for (let top = stack.pop(); top !== undefined; top = stack.pop()) {
    const [v, d] = top;
    if (v === null || typeof v !== 'object') continue;
    if (d > max) return true;
    for (const child of Object.values(v)) stack.push([child, d + 1]);
  }
  return false;
}

const tooLarge = (limit: number) => new AppError('ERR::API::PAYLOAD_TOO_LARGE', `request body is larger than ${limit} bytes`);
