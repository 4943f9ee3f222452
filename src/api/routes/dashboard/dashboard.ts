import { randomBytes, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import Router from '@koa/router';
import type Koa from 'koa';
import type { ApiDeps, AppState, Ctx } from '../../context';
import { findKeyScope } from '../../../db/repositories/projects';
import { loginPage } from '../../../web/pages/auth';
import type { Html } from '../../../web/html';
import type { DashboardSession } from '../../../db/rows';
import { requireCsrf, requireSession, safeNext, type Sessions } from '../../../web/session';
import { repoRoot } from '../../../repoRoot';
import { LoginForm } from './schema';

const LOGIN_CSRF_COOKIE = 'hookshot_login_csrf';

export interface DashboardDeps extends ApiDeps {
  sessions: Sessions;
}

/** signedIn: a session or 303 to the login page; csrf: every state-changing POST. */
export interface DashboardGuards {
  signedIn: Koa.Middleware<AppState>;
  csrf: Koa.Middleware<AppState>;
}

/**
 * The signed-in user of a route behind `signedIn` (or one that set the
 * session itself). Its absence is a routing bug, not a client error.
 */
export function sessionOf(ctx: { state: AppState }): DashboardSession {
  const { session } = ctx.state;
  if (!session) throw new Error('a dashboard page was reached without a session: is the route missing the signedIn guard?');
  return session;
}

/** Sends a page (already escaped by its templates). */
export function sendPage(ctx: Ctx, body: Html, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  // Pages show secrets and stored payloads: never cached, never framed.
  ctx.set('Cache-Control', 'no-store');
  ctx.set('X-Frame-Options', 'DENY');
  ctx.set(
    'Content-Security-Policy',
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  );
  ctx.set('Referrer-Policy', 'same-origin');
  ctx.body = body.value;
}

/**
 * The dashboard's own routes: the stylesheet, sign-in and sign-out. The
 * resource pages mount on the router this returns, behind `signedIn`
 * (session) and `csrf` (every POST).
 */
export function dashboardRoutes(deps: DashboardDeps): { router: Router<AppState> } & DashboardGuards {
  const r = new Router<AppState>({ sensitive: true });
  const { sessions } = deps;
  const signedIn = requireSession(sessions) as Koa.Middleware<AppState>;
  const csrf = requireCsrf() as Koa.Middleware<AppState>;

  const cssPath = path.join(repoRoot(), 'dist', 'src', 'web', 'assets', 'dashboard.css');
  let css: string | null = null;
  r.get('/dashboard/assets/dashboard.css', (ctx) => {
    css ??= readFileSync(cssPath, 'utf8');
    ctx.type = 'text/css; charset=utf-8';
    ctx.set('Cache-Control', 'public, max-age=300');
    ctx.body = css;
  });

  // Login has no session yet: its form's token is a double-submit cookie.
  const loginForm = (ctx: Ctx, next: string, error: string | null = null, status = 200) => {
    const token = randomBytes(24).toString('base64url');
    ctx.cookies.set(LOGIN_CSRF_COOKIE, token, { httpOnly: true, sameSite: 'strict', path: '/dashboard/login', secure: ctx.secure, overwrite: true });
    sendPage(ctx, loginPage({ next, error, csrf: token }), status);
  };

  r.get('/dashboard/login', async (ctx) => {
    const next = safeNext(ctx.query.next);
    if (await sessions.read(ctx)) return ctx.redirect(next);
    loginForm(ctx, next);
  });

  r.post('/dashboard/login', async (ctx) => {
    const parsed = LoginForm.safeParse(ctx.request.body ?? {});
    const next = safeNext(parsed.success ? parsed.data.next : undefined);
    const expected = Buffer.from(ctx.cookies.get(LOGIN_CSRF_COOKIE) ?? '');
    const given = Buffer.from(parsed.success ? (parsed.data._csrf ?? '') : '');
    if (expected.length === 0 || given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return loginForm(ctx, next, 'The sign-in form expired; please try again.', 403);
    }
    const scope = parsed.success ? await findKeyScope(deps.db, parsed.data.key) : null;
    if (!scope) return loginForm(ctx, next, parsed.success ? 'That API key is not valid (or was revoked).' : 'Enter an API key.', 401);
    await sessions.start(ctx, scope);
    ctx.cookies.set(LOGIN_CSRF_COOKIE, '', { path: '/dashboard/login', maxAge: 0, overwrite: true });
    ctx.status = 303;
    ctx.redirect(next);
  });

  r.post('/dashboard/logout', signedIn, csrf, async (ctx) => {
    await sessions.end(ctx);
    ctx.status = 303;
    ctx.redirect('/dashboard/login');
  });

  return { router: r, signedIn, csrf };
}
