import { createHmac, timingSafeEqual } from 'node:crypto';
import type Koa from 'koa';
import type { Db } from '../db/pool';
import { appSecret, createSession, deleteSession, findSession } from '../db/repositories/sessions';
import type { DashboardSession } from '../db/rows';
import type { KeyScope } from '../db/repositories/projects';
import { AppError } from '../errors';

export const SESSION_COOKIE = 'hookshot_session';
const TTL_MS = 12 * 60 * 60 * 1000;

/**
 * Dashboard sessions: the cookie is `<token>.<HMAC(token)>` (HttpOnly,
 * SameSite=Lax, Path=/, Secure over HTTPS); the token is random and stored
 * hashed, so the signature is a second lock, not the only one. The HMAC key
 * is shared by every API process through the database.
 */
export function createSessions(db: Db) {
  let key: Promise<string> | null = null;
  const secret = () => (key ??= appSecret(db, 'dashboard_session_signing').catch((err) => ((key = null), Promise.reject(err))));
  const sign = async (token: string) =>
    createHmac('sha256', await secret())
      .update(token)
      .digest('base64url');

  const tokenOf = async (ctx: Koa.Context): Promise<string | null> => {
    const raw = ctx.cookies.get(SESSION_COOKIE);
    if (!raw) return null;
    const dot = raw.lastIndexOf('.');
    if (dot <= 0) return null;
    const token = raw.slice(0, dot);
    const given = Buffer.from(raw.slice(dot + 1));
    const expected = Buffer.from(await sign(token));
    return given.length === expected.length && timingSafeEqual(given, expected) ? token : null;
  };

  const cookieOptions = (ctx: Koa.Context) => ({ httpOnly: true, sameSite: 'lax' as const, path: '/', secure: ctx.secure, overwrite: true });

  return {
    /** Signs the key's scope in: a new session and its cookie. */
    async start(ctx: Koa.Context, scope: KeyScope): Promise<void> {
      const { token } = await createSession(db, { projectId: scope.project.id, env: scope.env, keyPrefix: scope.keyPrefix, ttlMs: TTL_MS });
      ctx.cookies.set(SESSION_COOKIE, `${token}.${await sign(token)}`, { ...cookieOptions(ctx), maxAge: TTL_MS });
    },

    /** The request's live session, or null. */
    async read(ctx: Koa.Context): Promise<DashboardSession | null> {
      const token = await tokenOf(ctx);
      return token ? findSession(db, token) : null;
    },

    async end(ctx: Koa.Context): Promise<void> {
      const token = await tokenOf(ctx);
      if (token) await deleteSession(db, token);
      ctx.cookies.set(SESSION_COOKIE, '', { ...cookieOptions(ctx), maxAge: 0 });
    },
  };
}

export type Sessions = ReturnType<typeof createSessions>;

/** Pages need a session: without one, 303 to the login page (which comes back here after). */
export function requireSession(sessions: Sessions): Koa.Middleware {
  return async (ctx, next) => {
    const session = await sessions.read(ctx);
    if (!session) {
      ctx.status = 303;
      ctx.redirect(`/dashboard/login?next=${encodeURIComponent(ctx.originalUrl)}`);
      return;
    }
    ctx.state.session = session;
    return next();
  };
}

/** Every state-changing form carries the session's CSRF token; without it: 403, nothing changed. */
export function requireCsrf(): Koa.Middleware {
  return async (ctx, next) => {
    const session = ctx.state.session as DashboardSession | undefined;
    const body = ctx.request.body as Record<string, unknown> | undefined;
    const given = Buffer.from(typeof body?._csrf === 'string' ? body._csrf : '');
    const expected = Buffer.from(session?.csrfToken ?? '');
    if (!session || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      throw new AppError('ERR::DASHBOARD::CSRF', 'the form is missing its security token or it expired; reload the page and try again');
    }
    return next();
  };
}

/** Where to go after signing in: only a path of ours, never another site. */
export function safeNext(next: unknown): string {
  return typeof next === 'string' && /^\/(?!\/)[^\\\s]*$/.test(next) && (next.startsWith('/dashboard') || next.startsWith('/jobs/'))
    ? next
    : '/dashboard';
}
