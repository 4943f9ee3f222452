import type Router from '@koa/router';
import type { AppState, Ctx } from '../../context';
import { listNotices } from '../../../db/repositories/notifications';
import { popFlash } from '../../../web/flash';
import { notificationsPage } from '../../../web/pages/webhooks';
import { keysetPage } from '../../keysetPage';
import { sendPage, sessionOf, type DashboardDeps, type DashboardGuards } from './dashboard';
import { NotificationsPage } from './schema';

const PAGE_SIZE = 50;

/** /dashboard/notifications: the same notices as GET /notifications, newest first, paged by id. */
export function mountNotificationPages(r: Router<AppState>, deps: DashboardDeps, g: DashboardGuards): void {
  r.get('/dashboard/notifications', g.signedIn, async (ctx: Ctx) => {
    const s = sessionOf(ctx);
    // A mangled ?before= shows the newest page rather than an error.
    const q = NotificationsPage.safeParse(ctx.query);
    const before = q.success ? q.data.before : undefined;
    const rows = await listNotices(deps.db, s.project.id, s.env, { before, limit: PAGE_SIZE + 1 });
    const { page: notices, last } = keysetPage(rows, PAGE_SIZE);
    sendPage(
      ctx,
      notificationsPage({
        session: s,
        flash: await popFlash(ctx, deps.db),
        notices,
        nextBefore: last ? last.id : null,
        paged: before !== undefined,
      }),
    );
  });
}
