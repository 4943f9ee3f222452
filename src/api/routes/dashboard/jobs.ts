import { randomUUID } from 'node:crypto';
import type Router from '@koa/router';
import type { AppState, Ctx } from '../../context';
import { AppError } from '../../../errors';
import { getJobInScope, getResult } from '../../../db/repositories/jobs';
import { jobAttemptViews } from '../../../db/repositories/dashboard';
import { logUrl } from '../../../delivery/payload';
import { jobWorkflowId } from '../../../shared/names';
import { jobReplayer } from '../../../commands/jobReplayer';
import { jobNotFound } from '../../../commands/scope';
import { jobPage } from '../../../web/pages/job';
import { errorPage } from '../../../web/pages/auth';
import { sendPage, sessionOf, type DashboardDeps, type DashboardGuards } from './dashboard';
import { flashOf, isRefusal, UUID_RE } from './flash';

/**
 * The job's log page (/dashboard/jobs/:uuid), its replay form, and the HTML
 * side of GET /jobs/:uuid: the log_url a person opens in a browser.
 */
export function mountJobPages(r: Router<AppState>, deps: DashboardDeps, g: DashboardGuards): void {
  const { db, config } = deps;

  const render = async (ctx: Ctx, uuid: string) => {
    const s = sessionOf(ctx);
    const job = UUID_RE.test(uuid) ? await getJobInScope(db, uuid, s.project.id, s.env) : null;
    if (!job) throw jobNotFound(uuid);
    const [result, attempts] = await Promise.all([getResult(db, job.id), jobAttemptViews(db, job.id)]);
    const ui = config.temporal.uiUrl;
    sendPage(
      ctx,
      jobPage({
        session: s,
        job,
        result: result && (({ content: _c, body: _b, ...rest }) => rest)(result),
        attempts,
        workflowUrl: ui ? `${ui}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${jobWorkflowId(job.id)}` : null,
        logUrl: logUrl(config.publicUrl, job.id),
        flash: flashOf(ctx),
      }),
    );
  };

  r.get('/dashboard/jobs/:uuid', g.signedIn, (ctx) => render(ctx, ctx.params.uuid));

  // Like POST /jobs/:uuid/replay; `from` only picks which of our pages to go back to.
  r.post('/dashboard/jobs/:uuid/replay', g.signedIn, g.csrf, async (ctx) => {
    const s = sessionOf(ctx);
    const uuid = ctx.params.uuid;
    // Read here as well as in the command: where to go back to depends on it, refused or not.
    const job = UUID_RE.test(uuid) ? await getJobInScope(db, uuid, s.project.id, s.env) : null;
    if (!job) throw jobNotFound(uuid);
    const from = (ctx.request.body as Record<string, unknown> | undefined)?.from;
    const back = from === 'webhook' && job.webhook_name ? `/dashboard/webhooks/${encodeURIComponent(job.webhook_name)}` : `/dashboard/jobs/${job.id}`;
    ctx.status = 303;
    try {
      await jobReplayer(deps, { scope: s, jobId: job.id });
    } catch (err) {
      if (isRefusal(err)) return ctx.redirect(`${back}?flash=refused&code=${encodeURIComponent(err.code)}`);
      throw err;
    }
    ctx.redirect(`${back}?flash=replayed`);
  });

  // log_url is /jobs/:uuid for everyone. A browser (text/html preferred over
  // JSON) gets the job's page, through the login page without a session;
  // every other client falls through to the JSON route unchanged. This router
  // runs before the API's, so nothing here may answer a JSON client.
  r.get('/jobs/:uuid', async (ctx, next) => {
    ctx.vary('Accept');
    if (ctx.accepts('application/json', 'text/html') !== 'text/html') return next();
    const uuid = ctx.params.uuid;
    const session = await deps.sessions.read(ctx);
    if (!session) {
      ctx.status = 303;
      return ctx.redirect(`/dashboard/login?next=${encodeURIComponent(`/jobs/${UUID_RE.test(uuid) ? uuid : ''}`)}`);
    }
    ctx.state.session = session;
    try {
      await render(ctx, uuid);
    } catch (err) {
      // Outside /dashboard the error middleware answers JSON: a person gets a page.
      if (!(err instanceof AppError)) throw err;
      sendPage(ctx, errorPage(err.toBody(randomUUID())), err.httpCode);
    }
  });
}
