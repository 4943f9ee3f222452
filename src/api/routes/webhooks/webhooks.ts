import Router from '@koa/router';
import type { z } from 'zod';
import { AppError, WebhookErrors } from '../../../errors';
import {
  createWebhook,
  deleteWebhookIfIdle,
  getWebhookByName,
  listDeliveries,
  listWebhooks,
  rotateSigningSecret,
  updateWebhook,
  type Webhook,
} from '../../../db/repositories/webhooks';
import { withTransaction } from '../../../db/pool';
import { countFailedDeliveries } from '../../../db/repositories/jobs';
import { webhookWorkflowId } from '../../../shared/names';
import { presentAttempt } from '../../present';
import type { ApiDeps, AppState } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { input, validate } from '../../middleware/validate';
import { randomUUID } from 'node:crypto';
import { createWebhookSchema, ListDeliveries, ReplayWebhook, updateWebhookSchema, WebhookByName } from './schema';
import { ensureWebhookEntity, setWebhookStatus } from '../../../temporal/webhookEntity';
import { replayFailedSignal } from '../../../shared/workflowApi';

/** The API's view: every stored field, `id` shown as `uuid`. */
export function presentWebhook(w: Webhook) {
  const { id, project_id: _p, ...rest } = w;
  return { uuid: id, ...rest };
}

export function webhookRoutes({ db, config, temporal, logger }: ApiDeps): Router<AppState> {
  const r = new Router<AppState>({ prefix: '/webhooks', sensitive: true });
  r.use(requireKey(db));
  const CreateWebhook = createWebhookSchema(config.webhook.requireHttps);

  r.post('/', validate(CreateWebhook), async (ctx) => {
    const body = input<z.infer<typeof CreateWebhook>>(ctx);
    const { project, env } = scopeOf(ctx);
    const created = await createWebhook(db, { ...body, project_id: project.id, env });
    if (!created) throw WebhookErrors.duplicate(body.name);
    // Visible in the Web UI from the start; if Temporal is briefly away, the
    // first delivery starts the entity instead (signal-with-start).
    await ensureWebhookEntity(temporal, config.temporal.taskQueue, created.id, config.webhook.disableAfter).catch((err) =>
      logger.warn({ webhook: created.name, err: (err as Error).message }, 'webhook entity not started yet'),
    );
    ctx.status = 201;
    ctx.body = presentWebhook(created);
  });

  r.get('/', async (ctx) => {
    const { project, env } = scopeOf(ctx);
    ctx.body = { data: (await listWebhooks(db, project.id, env)).map(presentWebhook) };
  });

  r.get('/:name', validate(WebhookByName), async (ctx) => {
    const { name } = input<z.infer<typeof WebhookByName>>(ctx);
    const { project, env } = scopeOf(ctx);
    const w = await getWebhookByName(db, project.id, env, name);
    if (!w) throw WebhookErrors.notFound(name);
    ctx.body = presentWebhook(w);
  });

  const load = async (ctx: { state: AppState }) => {
    const { name } = input<{ name: string }>(ctx);
    const { project, env } = scopeOf(ctx);
    const w = await getWebhookByName(db, project.id, env, name);
    if (!w) throw WebhookErrors.notFound(name);
    return w;
  };
  const tq = config.temporal.taskQueue;
  const threshold = config.webhook.disableAfter;

  const UpdateWebhook = updateWebhookSchema(config.webhook.requireHttps);
  r.patch('/:name', validate(UpdateWebhook), async (ctx) => {
    const w = await load(ctx);
    const { name: _n, ...patch } = input<Record<string, unknown>>(ctx);
    ctx.body = presentWebhook((await updateWebhook(db, w.id, patch))!);
  });

  r.post('/:name/rotate-secret', validate(WebhookByName), async (ctx) => {
    const w = await load(ctx);
    ctx.body = presentWebhook((await rotateSigningSecret(db, w.id))!);
  });

  r.delete('/:name', validate(WebhookByName), async (ctx) => {
    const w = await load(ctx);
    const { deleted, pending } = await withTransaction(db, (c) => deleteWebhookIfIdle(c, w));
    if (!deleted) {
      throw new AppError(
        'ERR::WEBHOOK::DELIVERIES_PENDING',
        `webhook "${w.name}" still has ${pending} pending deliveries; disable it and wait for them to finish, or retry later`,
      );
    }
    // Its entity has nothing left to serialize.
    await temporal.workflow
      .getHandle(webhookWorkflowId(w.id))
      .terminate('webhook deleted')
      .catch(() => undefined);
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

  // Status changes go through the webhook's entity workflow, its one writer.
  for (const status of ['enabled', 'disabled'] as const) {
    r.post(`/:name/${status === 'enabled' ? 'enable' : 'disable'}`, validate(WebhookByName), async (ctx) => {
      const w = await load(ctx);
      await setWebhookStatus(temporal, tq, w.id, threshold, { status, ...(status === 'disabled' ? { reason: 'manual' } : {}) });
      ctx.body = presentWebhook((await getWebhookByName(db, w.project_id, w.env, w.name))!);
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
