import type Router from '@koa/router';
import type { AppState } from '../../context';
import { html } from '../../../web/html';
import { page } from '../../../web/layout';
import { sendPage, type DashboardDeps, type DashboardGuards } from './dashboard';

/** The webhooks list (/dashboard) and the forms that manage webhooks. (placeholder: being built) */
export function mountWebhookPages(r: Router<AppState>, _deps: DashboardDeps, g: DashboardGuards): void {
  r.get('/dashboard', g.signedIn, (ctx) => sendPage(ctx, page({ title: 'Webhooks', section: 'webhooks', session: ctx.state.session, body: html`<h1>Webhooks</h1>` })));
}
