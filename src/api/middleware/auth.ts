import { createHash, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import { AppError, AuthErrors } from '../../errors';
import type { Db } from '../../db/pool';
import { findKeyScope } from '../../db/repositories/projects';
import type { AppState } from '../context';

function bearer(ctx: Koa.Context): string | undefined {
  const h = ctx.get('authorization');
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m?.[1];
}

/** ?key= (Scrapfly style) or Authorization: Bearer; sets ctx.state.scope. */
export function requireKey(db: Db): Koa.Middleware<AppState> {
  return async (ctx, next) => {
    const q = ctx.query.key;
    const key = (typeof q === 'string' ? q : undefined) ?? bearer(ctx);
    if (!key) throw AuthErrors.missing();
    const scope = await findKeyScope(db, key);
    if (!scope) throw AuthErrors.invalid();
    ctx.state.scope = scope;
    return next();
  };
}

/**
 * The caller's (project, environment). Throws rather than trusting that the
 * auth middleware ran: a route mounted without it must fail closed.
 */
export function scopeOf(ctx: { state: AppState }) {
  if (!ctx.state.scope) throw AuthErrors.missing();
  return ctx.state.scope;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Operator endpoints: off (404) without ADMIN_TOKEN, else constant-time bearer check. */
export function requireAdmin(adminToken: string | undefined): Koa.Middleware<AppState> {
  const expected = adminToken ? digest(adminToken) : null;
  return async (ctx, next) => {
    if (!expected) throw new AppError('ERR::API::NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
    const token = bearer(ctx);
    if (!token || !timingSafeEqual(digest(token), expected)) throw AuthErrors.adminInvalid();
    return next();
  };
}
