import type Router from '@koa/router';
import type { z } from 'zod';
import type { AppState, Ctx } from '../../context';
import { AppError } from '../../../errors';
import { countQueued } from '../../../db/repositories/queue';
import { QUEUE_LIMITS } from '../../../db/repositories/projects';
import { attemptStats, listWebhooks } from '../../../db/repositories/webhooks';
import type { DashboardSession, Webhook } from '../../../db/rows';
import { findWebhookInScope, type Scope } from '../../../commands/scope';
import { webhookCreator } from '../../../commands/webhookCreator';
import { webhookDeleter } from '../../../commands/webhookDeleter';
import { webhookSecretRotator } from '../../../commands/webhookSecretRotator';
import { webhookStatusSetter } from '../../../commands/webhookStatusSetter';
import { webhookTester } from '../../../commands/webhookTester';
import { webhookUpdater } from '../../../commands/webhookUpdater';
import { popFlash, redirectWithFlash } from '../../../web/flash';
import { deleteConfirmPage, webhookFormPage, webhookListPage, type FieldErrors, type FormView } from '../../../web/pages/webhooks';
import { sendPage, type DashboardDeps, type DashboardGuards } from './dashboard';
import { CreateWebhookForm, EditWebhookForm } from './schema';

/** The success rate on the list covers this many hours of attempts (the page says so). */
const RATE_WINDOW_HOURS = 24;

const sessionOf = (ctx: Ctx) => ctx.state.session as DashboardSession;
const scopeOf = (ctx: Ctx): Scope => sessionOf(ctx);
const nameOf = (ctx: Ctx) => String(ctx.params.name);
const formBody = (ctx: Ctx) => (ctx.request.body ?? {}) as Record<string, unknown>;

const FIELDS = ['name', 'url', 'secret', 'content_type', 'content_encoding'] as const;

/** zod issues by form field: each message goes next to its field. */
function fieldErrors(error: z.ZodError): FieldErrors {
  const out: FieldErrors = {};
  for (const i of error.issues) {
    const f = String(i.path[0] ?? 'form');
    // Fields without a message slot of their own (and form-wide rules) show above the form.
    out[(FIELDS as readonly string[]).includes(f) ? (f as keyof FieldErrors) : 'form'] ??= i.message;
  }
  return out;
}

/** The webhooks list (/dashboard) and the forms that manage webhooks. */
export function mountWebhookPages(r: Router<AppState>, deps: DashboardDeps, g: DashboardGuards): void {
  const { db, config } = deps;
  const CreateForm = CreateWebhookForm(config.webhook.requireHttps);
  const load = (ctx: Ctx) => findWebhookInScope(db, scopeOf(ctx), nameOf(ctx));
  const back = (ctx: Ctx, flash: Parameters<typeof redirectWithFlash>[3]) => redirectWithFlash(ctx, db, '/dashboard', flash);

  r.get('/dashboard', g.signedIn, async (ctx) => {
    const s = sessionOf(ctx);
    const flash = await popFlash(ctx, db);
    const webhooks = await listWebhooks(db, s.project.id, s.env);
    const [stats, used] = await Promise.all([
      attemptStats(
        db,
        webhooks.map((w) => w.id),
        new Date(Date.now() - RATE_WINDOW_HOURS * 3600_000),
      ),
      countQueued(db, s.project.id),
    ]);
    sendPage(
      ctx,
      webhookListPage({
        session: s,
        flash,
        webhooks,
        stats,
        windowHours: RATE_WINDOW_HOURS,
        queue: { used, limit: QUEUE_LIMITS[s.project.plan], plan: s.project.plan },
      }),
    );
  });

  const renderForm = (ctx: Ctx, v: Omit<FormView, 'session'>, status = 200) =>
    sendPage(ctx, webhookFormPage({ ...v, session: sessionOf(ctx) }), status);
  const posted = (b: Record<string, unknown>): FormView['values'] => ({
    name: typeof b.name === 'string' ? b.name : '',
    url: typeof b.url === 'string' ? b.url : '',
    content_type: typeof b.content_type === 'string' ? b.content_type : undefined,
    content_encoding: typeof b.content_encoding === 'string' ? b.content_encoding : undefined,
    standard_webhooks: b.standard_webhooks === 'on',
  });

  r.get('/dashboard/webhooks/new', g.signedIn, (ctx) => renderForm(ctx, { mode: 'create', values: {}, errors: {} }));

  r.post('/dashboard/webhooks/new', g.signedIn, g.csrf, async (ctx) => {
    const body = formBody(ctx);
    const parsed = CreateForm.safeParse(body);
    if (!parsed.success) return renderForm(ctx, { mode: 'create', values: posted(body), errors: fieldErrors(parsed.error) }, 400);
    let created: Webhook;
    try {
      created = await webhookCreator(deps, { scope: scopeOf(ctx), webhook: parsed.data });
    } catch (err) {
      if (err instanceof AppError && err.code === 'ERR::WEBHOOK::ALREADY_EXISTS') {
        return renderForm(ctx, { mode: 'create', values: posted(body), errors: { name: err.message } }, 409);
      }
      throw err;
    }
    await back(ctx, {
      kind: 'ok',
      text: `Webhook "${created.name}" created.`,
      secret: { label: `Signing secret of "${created.name}"`, value: created.signing_secret },
    });
  });

  const storedValues = (w: Webhook): FormView['values'] => ({
    name: w.name,
    url: w.url,
    content_type: w.content_type,
    content_encoding: w.content_encoding,
    standard_webhooks: w.standard_webhooks,
    has_secret: w.secret !== null,
  });

  r.get('/dashboard/webhooks/:name/edit', g.signedIn, async (ctx) => {
    const w = await load(ctx);
    renderForm(ctx, { mode: 'edit', values: storedValues(w), errors: {}, flash: await popFlash(ctx, db) });
  });

  r.post('/dashboard/webhooks/:name/edit', g.signedIn, g.csrf, async (ctx) => {
    const w = await load(ctx);
    const body = formBody(ctx);
    const parsed = EditWebhookForm(config.webhook.requireHttps, w.name).safeParse(body);
    if (!parsed.success) {
      return renderForm(ctx, { mode: 'edit', values: { ...storedValues(w), ...posted(body), name: w.name }, errors: fieldErrors(parsed.error) }, 400);
    }
    const { name: _n, ...patch } = parsed.data;
    await webhookUpdater(deps, { scope: scopeOf(ctx), name: w.name, patch });
    await back(ctx, { kind: 'ok', text: `Webhook "${w.name}" saved.` });
  });

  r.get('/dashboard/webhooks/:name/delete', g.signedIn, async (ctx) => {
    sendPage(ctx, deleteConfirmPage(sessionOf(ctx), await load(ctx)));
  });

  r.post('/dashboard/webhooks/:name/delete', g.signedIn, g.csrf, async (ctx) => {
    let w: Webhook;
    try {
      w = await webhookDeleter(deps, { scope: scopeOf(ctx), name: nameOf(ctx) });
    } catch (err) {
      // 409 DELIVERIES_PENDING: the list says why, nothing was deleted.
      if (err instanceof AppError && err.code === 'ERR::WEBHOOK::DELIVERIES_PENDING')
        return back(ctx, { kind: 'error', text: `Not deleted: ${err.message}.` });
      throw err;
    }
    await back(ctx, { kind: 'ok', text: `Webhook "${w.name}" deleted.` });
  });

  // The new secret goes into the session's one-time flash and the browser is
  // redirected: it is never in a URL, and a reload (a GET) neither shows it
  // again nor rotates again, as re-posting a 200 result page would.
  r.post('/dashboard/webhooks/:name/rotate-secret', g.signedIn, g.csrf, async (ctx) => {
    const w = await webhookSecretRotator(deps, { scope: scopeOf(ctx), name: nameOf(ctx) });
    await back(ctx, {
      kind: 'ok',
      text: `New signing secret for "${w.name}"; the old one no longer signs.`,
      secret: { label: `New signing secret of "${w.name}"`, value: w.signing_secret },
    });
  });

  for (const status of ['enabled', 'disabled'] as const) {
    r.post(`/dashboard/webhooks/:name/${status === 'enabled' ? 'enable' : 'disable'}`, g.signedIn, g.csrf, async (ctx) => {
      const w = await webhookStatusSetter(deps, { scope: scopeOf(ctx), name: nameOf(ctx), status });
      await back(ctx, {
        kind: 'ok',
        text:
          status === 'enabled'
            ? `Webhook "${w.name}" enabled; its failure count is reset.`
            : `Webhook "${w.name}" disabled; new jobs to it are refused.`,
      });
    });
  }

  r.post('/dashboard/webhooks/:name/test', g.signedIn, g.csrf, async (ctx) => {
    const { webhook: w, outcome: o } = await webhookTester(deps, { scope: scopeOf(ctx), name: nameOf(ctx) });
    const answer = o.statusCode !== null ? `HTTP ${o.statusCode}` : 'no HTTP answer';
    await back(ctx, {
      kind: o.success ? 'ok' : 'error',
      text: o.success
        ? `Test delivery to "${w.name}" succeeded: ${answer} in ${o.durationMs} ms.`
        : `Test delivery to "${w.name}" failed: ${answer} after ${o.durationMs} ms.`,
      facts: [
        ['URL', w.url],
        ['Status', o.statusCode !== null ? String(o.statusCode) : '—'],
        ['Duration', `${o.durationMs} ms`],
        ...(o.errorCode ? ([['Error', `${o.errorCode}: ${o.errorMessage ?? ''}`]] as Array<[string, string]>) : []),
        ['Recorded', 'no: test deliveries are not in the delivery history or the success rate'],
      ],
    });
  });
}
