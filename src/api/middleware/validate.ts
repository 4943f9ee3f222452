import type Koa from 'koa';
import type { z } from 'zod';
import { ValidationError } from '../../errors';
import type { AppState } from '../context';

/**
 * One validator for every route: query string, JSON body and path params are
 * merged into one object (path params win, then body), checked against the
 * route's schema, and left in ctx.state.input. The message names the field.
 */
export function validate(schema: z.ZodType): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const body = ctx.request.body;
    if (body !== undefined && (typeof body !== 'object' || body === null || Array.isArray(body))) {
      throw new ValidationError('request body must be a JSON object');
    }
    const { key: _key, ...query } = ctx.query as Record<string, unknown>;
    const raw = { ...query, ...(body as object | undefined), ...((ctx as { params?: object }).params ?? {}) };
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues;
      const text = issues
        .slice(0, 5)
        .map((i) => {
          if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
          const field = i.path.join('.');
          return field ? `${field}: ${i.message}` : i.message;
        })
        .join('; ');
      throw new ValidationError(text, { issues });
    }
    ctx.state.input = parsed.data;
    return next();
  };
}

export const input = <T>(ctx: { state: AppState }): T => ctx.state.input as T;
