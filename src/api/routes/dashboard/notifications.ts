import type Router from '@koa/router';
import type { AppState, Ctx } from '../../context';
import { listNotices } from '../../../db/repositories/notifications';
import type { DashboardSession } from '../../../db/rows';
import { popFlash } from '../../../web/flash';
import { notificationsPage } from '../../../web/pages/webhooks';
import { sendPage, type DashboardDeps, type DashboardGuards } from './dashboard';
import { NotificationsPage } from './schema';

const PAGE_SIZE = 50;

/** /dashboard/notifications: the same notices as GET /notifications, newest first, paged by id. */
export function mountNotificationPages(r: Router<AppState>, deps: DashboardDeps, g: DashboardGuards): void {
  r.get('/dashboard/notifications', g.signedIn, async (ctx: Ctx) => {
    const s = ctx.state.session as DashboardSession;
    // A mangled ?before= shows the newest page rather than an error.
    const q = NotificationsPage.safeParse(ctx.query);
    const before = q.success ? q.data.before : undefined;
    const rows = await listNotices(deps.db, s.project.id, s.env, { before, limit: PAGE_SIZE + 1 });
    const notices = rows.slice(0, PAGE_SIZE);
    sendPage(
      ctx,
      notificationsPage({
        session: s,
        flash: await popFlash(ctx, deps.db),
        notices,
        nextBefore: rows.length > PAGE_SIZE ? notices[notices.length - 1]!.id : null,
        paged: before !== undefined,
      }),
    );
  });
}
