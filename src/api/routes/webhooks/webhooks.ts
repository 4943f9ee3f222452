import Router from '@koa/router';
import { listDeliveries, listWebhooks } from '../../../db/repositories/webhooks';
import type { Webhook } from '../../../db/rows';
import { failedDeliveriesReplayer } from '../../../commands/failedDeliveriesReplayer';
import { findWebhookInScope } from '../../../commands/scope';
import { webhookCreator } from '../../../commands/webhookCreator';
import { webhookDeleter } from '../../../commands/webhookDeleter';
import { webhookSecretRotator } from '../../../commands/webhookSecretRotator';
import { webhookStatusSetter } from '../../../commands/webhookStatusSetter';
import { webhookUpdater } from '../../../commands/webhookUpdater';
import { presentAttempt } from '../../present';
import { keysetPage } from '../../keysetPage';
import type { ApiDeps, AppState } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { withInput } from '../../middleware/validate';
import { createWebhookSchema, ListDeliveries, ReplayWebhook, updateWebhookSchema, WebhookByName } from './schema';

/** The API's view: every stored field, `id` shown as `uuid`. */
export function presentWebhook(w: Webhook) {
  const { id, project_id: _p, ...rest } = w;
  return { uuid: id, ...rest };
}

export function webhookRoutes(deps: ApiDeps): Router<AppState> {
  const { db, config } = deps;
  const r = new Router<AppState>({ prefix: '/webhooks', sensitive: true });
  r.use(requireKey(db));

  r.post(
    '/',
    withInput(createWebhookSchema(config.webhook.requireHttps), async (ctx, webhook) => {
      ctx.status = 201;
      ctx.body = presentWebhook(await webhookCreator(deps, { scope: scopeOf(ctx), webhook }));
    }),
  );

  r.get('/', async (ctx) => {
    const { project, env } = scopeOf(ctx);
    ctx.body = { data: (await listWebhooks(db, project.id, env)).map(presentWebhook) };
  });

  r.get(
    '/:name',
    withInput(WebhookByName, async (ctx, { name }) => {
      ctx.body = presentWebhook(await findWebhookInScope(db, scopeOf(ctx), name));
    }),
  );

  r.patch(
    '/:name',
    withInput(updateWebhookSchema(config.webhook.requireHttps), async (ctx, { name, ...patch }) => {
      ctx.body = presentWebhook(await webhookUpdater(deps, { scope: scopeOf(ctx), name, patch }));
    }),
  );

  r.post(
    '/:name/rotate-secret',
    withInput(WebhookByName, async (ctx, { name }) => {
      ctx.body = presentWebhook(await webhookSecretRotator(deps, { scope: scopeOf(ctx), name }));
    }),
  );

  r.delete(
    '/:name',
    withInput(WebhookByName, async (ctx, { name }) => {
      await webhookDeleter(deps, { scope: scopeOf(ctx), name });
      ctx.status = 204;
    }),
  );

  r.get(
    '/:name/deliveries',
    withInput(ListDeliveries, async (ctx, q) => {
      const w = await findWebhookInScope(db, scopeOf(ctx), q.name);
      const rows = await listDeliveries(db, w.id, { status: q.status, before: q.cursor, limit: q.limit + 1 });
      const { page, last } = keysetPage(rows, q.limit);
      ctx.body = {
        data: page.map(presentAttempt),
        next_cursor: last ? last.id : null,
      };
    }),
  );

  for (const status of ['enabled', 'disabled'] as const) {
    r.post(
      `/:name/${status === 'enabled' ? 'enable' : 'disable'}`,
      withInput(WebhookByName, async (ctx, { name }) => {
        ctx.body = presentWebhook(await webhookStatusSetter(deps, { scope: scopeOf(ctx), name, status }));
      }),
    );
  }

  r.post(
    '/:name/replay',
    withInput(ReplayWebhook, async (ctx, { name, since }) => {
      const out = await failedDeliveriesReplayer(deps, { scope: scopeOf(ctx), name, since: since ?? null });
      ctx.status = 202;
      ctx.body = { replay_id: out.replayId, webhook_name: out.webhook.name, failed_deliveries: out.failedDeliveries };
    }),
  );

  return r;
}
