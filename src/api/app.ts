import Koa from 'koa';
import Router from '@koa/router';
import type { ApiDeps, AppState } from './context';
import { errorMiddleware } from './middleware/errors';
import { jsonBody } from './middleware/body';
import { adminRoutes } from './routes/admin/admin';
import { webhookRoutes } from './routes/webhooks/webhooks';
import { scrapeRoutes } from './routes/scrape/scrape';
import { jobRoutes } from './routes/jobs/jobs';
import { accountRoutes } from './routes/account/account';
import { docsRoutes } from './routes/docs/docs';
import { dashboardRoutes, emptyPage } from './routes/dashboard/dashboard';
import { createSessions } from '../web/session';
import { firecrawlRoutes } from './routes/firecrawl/firecrawl';
import { foldFirecrawlSlashes } from './routes/firecrawl/paths';
import { buildOpenApi } from './openapi';
import { pingDatabase } from '../db/repositories/health';

export function createApp(deps: ApiDeps): Koa<AppState> {
  const app = new Koa<AppState>();
  app.proxy = true;
  app.silent = true; // the error middleware logs; Koa's default stderr dump would duplicate it
  app.use(errorMiddleware(deps.logger));
  app.use(foldFirecrawlSlashes());
  app.use(jsonBody(deps.config.apiBodyLimitBytes));

  for (const router of buildRouters(deps)) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}

export function buildRouters(deps: ApiDeps): Router<AppState>[] {
  const ops = new Router<AppState>({ sensitive: true });
  ops.get('/healthz', async (ctx) => {
    await pingDatabase(deps.db);
    ctx.body = { status: 'ok' };
  });
  const doc = buildOpenApi(deps.config);
  ops.get('/openapi.json', (ctx) => {
    ctx.body = doc;
  });
  const dashboard = dashboardRoutes({ ...deps, sessions: createSessions(deps.db) });
  // The resource pages (webhooks, history, jobs, notifications, crawls) mount here.
  dashboard.router.get('/dashboard', dashboard.signedIn, (ctx) => emptyPage(ctx, 'Webhooks'));
  return [ops, docsRoutes(), adminRoutes(deps), webhookRoutes(deps), scrapeRoutes(deps), jobRoutes(deps), accountRoutes(deps), firecrawlRoutes(deps), dashboard.router];
}
