import type Koa from 'koa';
import type { Db } from '../db/pool';
import type { DashboardSession } from '../db/rows';
import { setFlash, takeFlash } from '../db/repositories/sessions';
import { html, type Html } from './html';

/**
 * What a form leaves for the page it redirects to (POST, 303, GET). Stored
 * with the session and removed when shown, so a secret in it is shown once:
 * not in the URL, not in a cookie, not again on reload or Back.
 */
export interface Flash {
  kind: 'ok' | 'error';
  text: string;
  /** Label/value lines under the message (a test delivery's outcome). */
  facts?: Array<[string, string]>;
  /** A secret to show once, with what it is. */
  secret?: { label: string; value: string };
}

/** A signed-in page's request: requireSession (src/web/session.ts) has put the session on it. */
type SessionCtx = Koa.ParameterizedContext<{ session?: DashboardSession }>;

export async function redirectWithFlash(ctx: SessionCtx, db: Db, location: string, flash: Flash): Promise<void> {
  await setFlash(db, (ctx.state.session as DashboardSession).tokenHash, flash);
  ctx.status = 303;
  ctx.redirect(location);
}

export async function popFlash(ctx: SessionCtx, db: Db): Promise<Flash | null> {
  return ((await takeFlash(db, (ctx.state.session as DashboardSession).tokenHash)) as Flash | null) ?? null;
}

/** What goes below the layout's one-line message: the facts and the one-time secret. */
export function flashDetails(f: Flash | null): Html {
  if (!f) return html``;
  return html`${
    f.facts?.length ? html`<dl class="facts flash-facts" id="flash-facts">${f.facts.map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>` : ''
  }${
    f.secret
      ? html`<section class="reveal" aria-labelledby="reveal-title">
  <h2 id="reveal-title">${f.secret.label}</h2>
  <p>Copy it now: it is shown on this page only, once. Receivers verify <code>X-Scrapfly-Webhook-Signature</code> with it (HMAC-SHA256 of the body).</p>
  <p><code class="secret" id="revealed-secret">${f.secret.value}</code></p>
</section>`
      : ''
  }`;
}
