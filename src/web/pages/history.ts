import type { AttemptView } from '../../db/repositories/dashboard';
import type { DashboardSession, Webhook } from '../../db/rows';
import { html, type Html } from '../html';
import { page, postButton } from '../layout';
import { attemptList } from './attempts';

export interface HistoryPageInput {
  session: DashboardSession;
  webhook: Pick<Webhook, 'name' | 'url' | 'status' | 'disabled_reason' | 'consecutive_failed_count' | 'content_type' | 'content_encoding'>;
  attempts: AttemptView[];
  failedJobs: number;
  limit: number;
  /** Links to the neighbouring pages (null: none that way). */
  newer: string | null;
  older: string | null;
  flash: { kind: 'ok' | 'error'; text: string } | null;
}

export function historyPage(o: HistoryPageInput): Html {
  const w = o.webhook;
  const base = `/dashboard/webhooks/${encodeURIComponent(w.name)}`;
  return page({
    title: `${w.name} · deliveries`,
    session: o.session,
    section: 'webhooks',
    flash: o.flash,
    body: html`<p class="crumbs"><a href="/dashboard">Webhooks</a> /</p>
<h1>Deliveries of <span class="name">${w.name}</span></h1>
<dl class="facts">
  <dt>URL</dt><dd>${w.url}</dd>
  <dt>Status</dt><dd><span class="status-${w.status}">${w.status}</span>${w.disabled_reason ? html` <span class="muted">(${w.disabled_reason})</span>` : ''}</dd>
  <dt>Consecutive failures</dt><dd>${w.consecutive_failed_count}</dd>
  <dt>Format</dt><dd>${w.content_type}${w.content_encoding !== 'identity' ? html`, ${w.content_encoding}` : ''}</dd>
</dl>
<div class="actions">
  ${
    o.failedJobs > 0
      ? postButton(`${base}/replay`, o.session, `Replay all failed (${o.failedJobs})`, 'button')
      : html`<span class="muted">No failed deliveries to replay.</span>`
  }
</div>
<h2>Attempts <span class="muted">(newest first, ${o.limit} a page)</span></h2>
${attemptList(o.attempts, { session: o.session, jobLinks: true, replayFrom: 'webhook' })}
${pager(o.newer, o.older)}`,
  });
}

export function pager(newer: string | null, older: string | null, labels: [string, string] = ['← Newer', 'Older →']): Html {
  if (!newer && !older) return html``;
  return html`<nav class="pager" aria-label="Pages">${newer ? html`<a href="${newer}" rel="prev">${labels[0]}</a>` : ''}${older ? html`<a href="${older}" rel="next">${labels[1]}</a>` : ''}</nav>`;
}
