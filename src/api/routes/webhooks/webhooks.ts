import Router from '@koa/router';
import type { z } from 'zod';
import { WebhookErrors } from '../../../errors';
import { listDeliveries, listWebhooks } from '../../../db/repositories/webhooks';
import type { Webhook } from '../../../db/rows';
import {
  createWebhookCommand,
  deleteWebhookCommand,
  findWebhook,
  rotateWebhookSecretCommand,
  setWebhookStatusCommand,
  updateWebhookCommand,
} from '../../../commands/webhooks';
import { countFailedDeliveries } from '../../../db/repositories/jobs';
import { webhookWorkflowId } from '../../../shared/names';
import { presentAttempt } from '../../present';
import type { ApiDeps, AppState } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { input, validate } from '../../middleware/validate';
import { randomUUID } from 'node:crypto';
import { createWebhookSchema, ListDeliveries, ReplayWebhook, updateWebhookSchema, WebhookByName } from './schema';
import { ensureWebhookEntity } from '../../../temporal/webhookEntity';
import { replayFailedSignal } from '../../../shared/workflowApi';

/** The API's view: every stored field, `id` shown as `uuid`. */
export function presentWebhook(w: Webhook) {
  const { id, project_id: _p, ...rest } = w;
  return { uuid: id, ...rest };
}

export function webhookRoutes(deps: ApiDeps): Router<AppState> {
  const { db, config, temporal } = deps;
  const r = new Router<AppState>({ prefix: '/webhooks', sensitive: true });
  r.use(requireKey(db));
  const CreateWebhook = createWebhookSchema(config.webhook.requireHttps);

  const scopeIds = (ctx: { state: AppState }) => {
    const { project, env } = scopeOf(ctx);
    return { projectId: project.id, env };
  };

  r.post('/', validate(CreateWebhook), async (ctx) => {
    const body = input<z.infer<typeof CreateWebhook>>(ctx);
    ctx.status = 201;
    ctx.body = presentWebhook(await createWebhookCommand(deps, scopeIds(ctx), body));
  });

  r.get('/', async (ctx) => {
    const { project, env } = scopeOf(ctx);
    ctx.body = { data: (await listWebhooks(db, project.id, env)).map(presentWebhook) };
  });

  const load = (ctx: { state: AppState }) => findWebhook(deps, scopeIds(ctx), input<{ name: string }>(ctx).name);

  r.get('/:name', validate(WebhookByName), async (ctx) => {
    ctx.body = presentWebhook(await load(ctx));
  });

  const tq = config.temporal.taskQueue;
  const threshold = config.webhook.disableAfter;

  const UpdateWebhook = updateWebhookSchema(config.webhook.requireHttps);
  r.patch('/:name', validate(UpdateWebhook), async (ctx) => {
    const w = await load(ctx);
    const { name: _n, ...patch } = input<Record<string, unknown>>(ctx);
    ctx.body = presentWebhook(await updateWebhookCommand(deps, w, patch));
  });

  r.post('/:name/rotate-secret', validate(WebhookByName), async (ctx) => {
    ctx.body = presentWebhook(await rotateWebhookSecretCommand(deps, await load(ctx)));
  });

  r.delete('/:name', validate(WebhookByName), async (ctx) => {
    await deleteWebhookCommand(deps, await load(ctx));
    ctx.status = 204;
  });

  r.get('/:name/deliveries', validate(ListDeliveries), async (ctx) => {
    const w = await load(ctx);
    const q = input<{ status?: 'success' | 'failed'; limit: number; cursor?: number }>(ctx);
    const rows = await listDeliveries(db, w.id, { status: q.status, before: q.cursor, limit: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    ctx.body = {
      data: page.map(presentAttempt),
      next_cursor: rows.length > q.limit ? page[page.length - 1]!.id : null,
    };
  });

  for (const status of ['enabled', 'disabled'] as const) {
    r.post(`/:name/${status === 'enabled' ? 'enable' : 'disable'}`, validate(WebhookByName), async (ctx) => {
      ctx.body = presentWebhook(await setWebhookStatusCommand(deps, await load(ctx), status));
    });
  }

  r.post('/:name/replay', validate(ReplayWebhook), async (ctx) => {
    const w = await load(ctx);
    if (w.status === 'disabled') throw WebhookErrors.disabled(w.name);
    const { since } = input<{ since?: string }>(ctx);
    const replayId = randomUUID();
    await ensureWebhookEntity(temporal, tq, w.id, threshold);
    await temporal.workflow.getHandle(webhookWorkflowId(w.id)).signal(replayFailedSignal, { replayId, since: since ?? null });
    ctx.status = 202;
    ctx.body = { replay_id: replayId, webhook_name: w.name, failed_deliveries: await countFailedDeliveries(db, w.id, since ?? null) };
  });

  return r;
}
