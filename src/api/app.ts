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
import { notificationRoutes } from './routes/notifications/notifications';
import { docsRoutes } from './routes/docs/docs';
import { dashboardRoutes } from './routes/dashboard/dashboard';
import { mountWebhookPages } from './routes/dashboard/webhooks';
import { mountNotificationPages } from './routes/dashboard/notifications';
import { mountHistoryPages } from './routes/dashboard/history';
import { mountJobPages } from './routes/dashboard/jobs';
import { mountCrawlPages } from './routes/dashboard/crawls';
import { createSessions } from '../web/session';
import { firecrawlRoutes } from './routes/firecrawl/firecrawl';
import { foldFirecrawlSlashes } from './routes/firecrawl/paths';
import { crawlerRoutes } from './routes/crawler/crawler';
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
  // No key, like any metrics port: bind or firewall it (SPEC section 12).
  ops.get('/metrics', async (ctx) => {
    const { contentType, text } = await deps.metrics.render();
    ctx.type = contentType;
    ctx.body = text;
  });
  const doc = buildOpenApi(deps.config);
  ops.get('/openapi.json', (ctx) => {
    ctx.body = doc;
  });
  const dashboardDeps = { ...deps, sessions: createSessions(deps.db) };
  const dashboard = dashboardRoutes(dashboardDeps);
  for (const mount of [mountWebhookPages, mountNotificationPages, mountHistoryPages, mountJobPages, mountCrawlPages]) {
    mount(dashboard.router, dashboardDeps, dashboard);
  }
  // The dashboard goes before the job routes: it answers GET /jobs/:uuid to a
  // browser asking for HTML (the log_url), and passes every other request on.
  return [
    ops,
    docsRoutes(),
    adminRoutes(deps),
    webhookRoutes(deps),
    scrapeRoutes(deps),
    dashboard.router,
    jobRoutes(deps),
    accountRoutes(deps),
    notificationRoutes(deps),
    firecrawlRoutes(deps),
    // Scrapfly's Crawler API at the root (/crawl…); Firecrawl's crawls live under /v1 and /v2.
    crawlerRoutes(deps),
  ];
}
