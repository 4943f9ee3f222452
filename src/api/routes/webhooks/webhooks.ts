import Router from '@koa/router';
import type { z } from 'zod';
import { WebhookErrors } from '../../../errors';
import { createWebhook, getWebhookByName, listWebhooks, type Webhook } from '../../../db/repositories/webhooks';
import type { ApiDeps, AppState } from '../../context';
import { requireKey } from '../../middleware/auth';
import { input, validate } from '../../middleware/validate';
import { createWebhookSchema, WebhookByName } from './schema';

/** The API's view: every stored field, `id` shown as `uuid`. */
export function presentWebhook(w: Webhook) {
  const { id, project_id: _p, ...rest } = w;
  return { uuid: id, ...rest };
}

export function webhookRoutes({ db, config }: ApiDeps): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/webhooks' });
  r.use(requireKey(db));
  const CreateWebhook = createWebhookSchema(config.webhook.requireHttps);

  r.post('/', validate(CreateWebhook), async (ctx) => {
    const body = input<z.infer<typeof CreateWebhook>>(ctx);
    const { project, env } = ctx.state.scope!;
    const created = await createWebhook(db, { ...body, project_id: project.id, env });
    if (!created) throw WebhookErrors.duplicate(body.name);
    ctx.status = 201;
    ctx.body = presentWebhook(created);
  });

  r.get('/', async (ctx) => {
    const { project, env } = ctx.state.scope!;
    ctx.body = { data: (await listWebhooks(db, project.id, env)).map(presentWebhook) };
  });

  r.get('/:name', validate(WebhookByName), async (ctx) => {
    const { name } = input<z.infer<typeof WebhookByName>>(ctx);
    const { project, env } = ctx.state.scope!;
    const w = await getWebhookByName(db, project.id, env, name);
    if (!w) throw WebhookErrors.notFound(name);
    ctx.body = presentWebhook(w);
  });

  return r;
}
