import type Router from '@koa/router';
import type { AppState } from '../../context';
import { AppError } from '../../../errors';
import { countFailedDeliveries } from '../../../db/repositories/jobs';
import { attemptNeighbours, attemptPayloadInScope, pageWebhookAttempts } from '../../../db/repositories/dashboard';
import { failedDeliveriesReplayer } from '../../../commands/failedDeliveriesReplayer';
import { findWebhookInScope } from '../../../commands/scope';
import { historyPage } from '../../../web/pages/history';
import { decompress, isShownImage } from '../../../web/pages/attempts';
import { sendPage, sessionOf, type DashboardDeps, type DashboardGuards } from './dashboard';
import { flashOf, intParam } from './flash';

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

/**
 * A webhook's delivery history (newest first, keyset pages), its "replay all
 * failed" form, and the stored image of a screenshot delivery.
 */
export function mountHistoryPages(r: Router<AppState>, deps: DashboardDeps, g: DashboardGuards): void {
  const { db } = deps;

  const load = (ctx: { state: AppState; params: Record<string, string> }) => findWebhookInScope(db, sessionOf(ctx), ctx.params.name);

  r.get('/dashboard/webhooks/:name', g.signedIn, async (ctx) => {
    const w = await load(ctx);
    const limit = intParam(ctx.query.limit, DEFAULT_PAGE, 1, MAX_PAGE);
    const before = intParam(ctx.query.before, null, 1, Number.MAX_SAFE_INTEGER);
    const after = before === null ? intParam(ctx.query.after, null, 0, Number.MAX_SAFE_INTEGER) : null;
    const { rows, more } = await pageWebhookAttempts(db, w.id, { before, after, limit });
    const base = `/dashboard/webhooks/${encodeURIComponent(w.name)}`;
    const link = (k: 'before' | 'after', id: number) => `${base}?${k}=${id}${limit !== DEFAULT_PAGE ? `&limit=${limit}` : ''}`;
    let newer: string | null = null;
    let older: string | null = null;
    const [first] = rows;
    const last = rows.at(-1);
    if (first && last) {
      const newest = first.id;
      const oldest = last.id;
      // The far end of the page read is known from its extra row; the near
      // end only matters when we came from somewhere (a cursor was given).
      const near = before !== null || after !== null ? await attemptNeighbours(db, w.id, newest, oldest) : { newer: false, older: more };
      const hasOlder = after !== null ? near.older : more;
      const hasNewer = after !== null ? more : near.newer;
      if (hasNewer) newer = link('after', newest);
      if (hasOlder) older = link('before', oldest);
    } else if (before !== null || after !== null) {
      newer = base;
    }
    sendPage(
      ctx,
      historyPage({
        session: sessionOf(ctx),
        webhook: w,
        attempts: rows,
        failedJobs: await countFailedDeliveries(db, w.id, null),
        limit,
        newer,
        older,
        flash: flashOf(ctx),
      }),
    );
  });

  // POST /webhooks/:name/replay's command; a refusal (disabled) goes back to the page with its reason.
  r.post('/dashboard/webhooks/:name/replay', g.signedIn, g.csrf, async (ctx) => {
    const name = ctx.params.name;
    const back = `/dashboard/webhooks/${encodeURIComponent(name)}`;
    let n: number;
    try {
      n = (await failedDeliveriesReplayer(deps, { scope: sessionOf(ctx), name, since: null })).failedDeliveries;
    } catch (err) {
      if (!(err instanceof AppError && err.code === 'ERR::WEBHOOK::DISABLED')) throw err;
      ctx.status = 303;
      return ctx.redirect(`${back}?flash=refused&code=${err.code}`);
    }
    ctx.status = 303;
    ctx.redirect(`${back}?flash=replayed-all&n=${n}`);
  });

  // The image a screenshot delivery sent, for the history's thumbnail. Only
  // raster types are served, with nosniff: stored bytes never run as a page.
  r.get('/dashboard/attempts/:id/payload', g.signedIn, async (ctx) => {
    const s = sessionOf(ctx);
    const id = intParam(ctx.params.id, null, 1, Number.MAX_SAFE_INTEGER);
    const p = id === null ? null : await attemptPayloadInScope(db, id, s.project.id, s.env);
    if (!p || !isShownImage(p.content_type)) {
      ctx.status = 404;
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = 'no stored image for this attempt';
      return;
    }
    let image: Buffer;
    try {
      // Stored as sent: a compressing webhook compressed the image too.
      image = decompress(p.body, p.content_encoding, p.truncated);
    } catch {
      image = p.body;
    }
    ctx.type = p.content_type;
    ctx.set('X-Content-Type-Options', 'nosniff');
    ctx.set('Cache-Control', 'private, max-age=300');
    ctx.set('Content-Security-Policy', "default-src 'none'");
    ctx.body = image;
  });
}
