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
    // A route may have reshaped the query (headers[Name]=value) into ctx.state.query.
    const { key: _key, ...query } = (ctx.state.query ?? ctx.query) as Record<string, unknown>;
    const raw = { ...query, ...(body as object | undefined), ...((ctx as { params?: object }).params ?? {}) };
    // PostgreSQL text cannot hold NUL: refuse it here, by field, not with a 500 later.
    const nul = findNul(raw, '');
    if (nul !== null) throw new ValidationError(`${nul || 'input'}: must not contain NUL characters`);
    const parsed = schema.safeParse(raw);
    if (!parsed.success) {
      const issues = parsed.error.issues;
      const text = issues
        .slice(0, 5)
        .map((i) => {
          if (i.code === 'unrecognized_keys') return `unknown parameter${i.keys.length > 1 ? 's' : ''} ${i.keys.map((k) => `"${k}"`).join(', ')}`;
          const field = fieldPath(i.path);
          return field ? `${field}: ${i.message}` : i.message;
        })
        .join('; ');
      throw new ValidationError(text, { issues });
    }
    ctx.state.input = parsed.data;
    return next();
  };
}

/** A field's path as a client writes it: `urls[3]`, `webhook.headers.X-Token`, `scrapeOptions.formats[1]`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((out, k) => (typeof k === 'number' ? `${out}[${k}]` : out ? `${out}.${String(k)}` : String(k)), '');
}

function findNul(v: unknown, path: string): string | null {
  if (typeof v === 'string') return v.includes('\u0000') ? path : null;
  if (v && typeof v === 'object') {
    for (const [k, child] of Object.entries(v)) {
      const at = Array.isArray(v) ? `${path}[${k}]` : path ? `${path}.${k}` : k;
      if (k.includes('\u0000')) return at;
      const found = findNul(child, at);
      if (found !== null) return found;
    }
  }
  return null;
}

/**
 * A route handler that receives its request already checked by `schema`,
 * typed as the schema's output: `r.post('/', withInput(Schema, async (ctx, body) => …))`.
 * Same rules and messages as `validate`, without a cast in the handler.
 */
export function withInput<S extends z.ZodType>(
  schema: S,
  handler: (ctx: Koa.ParameterizedContext<AppState>, input: z.output<S>) => Promise<void> | void,
): Koa.Middleware<AppState> {
  const check = validate(schema);
  // The handler ends the chain, as a route's last middleware does.
  return (ctx) =>
    check(ctx, async () => {
      await handler(ctx, ctx.state.input as z.output<S>);
    });
}
