import Router from '@koa/router';
import { listNotices } from '../../../db/repositories/notifications';
import type { Notice } from '../../../db/rows';
import type { ApiDeps, AppState } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { withInput } from '../../middleware/validate';
import { keysetPage } from '../../keysetPage';
import { ListNotifications } from './schema';

export const presentNotice = (n: Notice) => ({
  kind: n.kind,
  webhook_name: n.webhook_name,
  consecutive_failed_count: n.consecutive_failed_count,
  message: n.message,
  created_at: n.created_at,
});

/** GET /notifications: the key's project+environment warnings and auto-disable notices, newest first. */
export function notificationRoutes({ db }: ApiDeps): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/notifications', sensitive: true });
  r.use(requireKey(db));
  r.get(
    '/',
    withInput(ListNotifications, async (ctx, q) => {
      const { project, env } = scopeOf(ctx);
      const rows = await listNotices(db, project.id, env, { before: q.cursor, limit: q.limit + 1 });
      const { page, last } = keysetPage(rows, q.limit);
      ctx.body = { notifications: page.map(presentNotice), next_cursor: last ? last.id : null };
    }),
  );
  return r;
}
