import Router from '@koa/router';
import { countQueued } from '../../../db/repositories/queue';
import { countSlotsHeld, getEventSecret, rotateEventSecret } from '../../../db/repositories/account';
import { concurrencyOf, QUEUE_LIMITS } from '../../../db/repositories/projects';
import type { ApiDeps, AppState, Ctx } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { validate } from '../../middleware/validate';
import { AccountQuery } from './schema';

/** What a key's project and environment look like, and the secret that signs its event webhooks. */
export function accountRoutes({ db }: ApiDeps): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/account', sensitive: true });
  r.use(requireKey(db));

  const present = async (ctx: Ctx, secret: string) => {
    const { project, env } = scopeOf(ctx);
    const [queued, running] = await Promise.all([countQueued(db, project.id), countSlotsHeld(db, project.id)]);
    return {
      project: project.name,
      env,
      plan: project.plan,
      webhook_queue_limit: QUEUE_LIMITS[project.plan],
      webhook_queued: queued,
      concurrency_limit: concurrencyOf(project),
      concurrency_in_use: running,
      event_signing_secret: secret,
    };
  };

  r.get('/', validate(AccountQuery), async (ctx) => {
    const { project, env } = scopeOf(ctx);
    ctx.body = await present(ctx, await getEventSecret(db, project.id, env));
  });

  r.post('/rotate-event-secret', validate(AccountQuery), async (ctx) => {
    const { project, env } = scopeOf(ctx);
    ctx.body = await present(ctx, await rotateEventSecret(db, project.id, env));
  });

  return r;
}
