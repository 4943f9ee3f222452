import type { DashboardSession, Notice } from '../../db/rows';
import { CONTENT_ENCODINGS, CONTENT_TYPES, type Webhook } from '../../db/rows';
import { html, type Html } from '../html';
import { csrfField, page, time } from '../layout';
import { flashDetails, type Flash } from '../flash';

export const webhookPath = (name: string) => `/dashboard/webhooks/${encodeURIComponent(name)}`;

const layoutFlash = (f: Flash | null) => (f ? { kind: f.kind, text: f.text } : null);

/**
 * A one-button form for one row; the hidden words name the webhook, so a
 * screen reader's list of buttons says which row each one acts on.
 */
function rowButton(action: string, s: DashboardSession, label: string, name: string, style = ''): Html {
  return html`<form method="post" action="${action}" class="inline">${csrfField(s)}<button type="submit"${style ? html` class="${style}"` : ''}>${label}<span class="vh"> ${name}</span></button></form>`;
}

function statusCell(w: Webhook): Html {
  if (w.status === 'enabled') return html`<span class="status-enabled">enabled</span>`;
  const why =
    w.disabled_reason === 'consecutive_failures'
      ? `after ${w.consecutive_failed_count} consecutive failures`
      : w.disabled_reason === 'manual'
        ? 'by hand'
        : (w.disabled_reason ?? '');
  return html`<span class="status-disabled">disabled</span>${why ? html` <span class="muted reason">(${why})</span>` : ''}`;
}

export interface ListView {
  session: DashboardSession;
  flash: Flash | null;
  webhooks: Webhook[];
  stats: Map<string, { attempts: number; succeeded: number }>;
  windowHours: number;
  queue: { used: number; limit: number; plan: string };
}

function queueLine(q: ListView['queue']): Html {
  const full = q.used >= q.limit;
  return html`<p class="queue" id="queue-use"><strong>Webhook queue:</strong> <span class="${full ? 'bad' : ''}">${q.used.toLocaleString('en')} of ${q.limit.toLocaleString('en')}</span> pending deliveries (${q.plan} plan)${
    q.limit === 0
      ? html` <span class="muted">— this plan queues no webhook jobs</span>`
      : full
        ? html` <span class="bad">— full: new webhook jobs are refused</span>`
        : ''
  }</p>`;
}

export function webhookListPage(v: ListView): Html {
  const s = v.session;
  const rate = (w: Webhook) => {
    const st = v.stats.get(w.id);
    if (!st || st.attempts === 0) return html`<span class="muted">no attempts</span>`;
    const pct = Math.round((st.succeeded / st.attempts) * 1000) / 10;
    return html`<span class="${pct < 50 ? 'bad' : pct < 95 ? 'warn' : 'ok'}">${pct}%</span> <span class="muted">(${st.succeeded}/${st.attempts})</span>`;
  };
  const rows = v.webhooks.map(
    (w) => html`<tr>
  <th scope="row" data-label="Name"><a href="${webhookPath(w.name)}">${w.name}</a></th>
  <td data-label="URL" class="url">${w.url}</td>
  <td data-label="Status">${statusCell(w)}</td>
  <td data-label="Consecutive failures" class="num">${w.consecutive_failed_count}</td>
  <td data-label="Success rate (${v.windowHours} h)" class="num">${rate(w)}</td>
  <td data-label="Actions"><div class="row-actions">
    <a href="${webhookPath(w.name)}/edit">Edit<span class="vh"> ${w.name}</span></a>
    ${rowButton(`${webhookPath(w.name)}/test`, s, 'Send test', w.name)}
    ${w.status === 'enabled' ? rowButton(`${webhookPath(w.name)}/disable`, s, 'Disable', w.name) : rowButton(`${webhookPath(w.name)}/enable`, s, 'Enable', w.name, 'primary')}
    ${rowButton(`${webhookPath(w.name)}/rotate-secret`, s, 'Rotate secret', w.name)}
    <a class="danger-link" href="${webhookPath(w.name)}/delete">Delete<span class="vh"> ${w.name}</span></a>
  </div></td>
</tr>`,
  );
  return page({
    title: 'Webhooks',
    section: 'webhooks',
    session: s,
    flash: layoutFlash(v.flash),
    body: html`${flashDetails(v.flash)}
<div class="heading-row"><h1>Webhooks</h1><a class="button primary" href="/dashboard/webhooks/new">New webhook</a></div>
${queueLine(v.queue)}
${
  v.webhooks.length === 0
    ? html`<p id="no-webhooks">No webhooks in this project and environment yet. <a href="/dashboard/webhooks/new">Create one</a> to receive scrape results.</p>`
    : html`<p class="muted" id="rate-note">Success rate: the share of delivery attempts (retries included) that got a 2xx answer in the last ${v.windowHours} hours. Test deliveries are not counted.</p>
<div class="table-wrap"><table class="cards" id="webhooks">
<caption class="vh">Webhooks of ${s.project.name} (${s.env})</caption>
<thead><tr><th scope="col">Name</th><th scope="col">URL</th><th scope="col">Status</th><th scope="col" class="num">Consecutive failures</th><th scope="col" class="num">Success rate (${v.windowHours} h)</th><th scope="col">Actions</th></tr></thead>
<tbody>${rows}</tbody>
</table></div>`
}`,
  });
}

export type FieldErrors = Partial<Record<'name' | 'url' | 'secret' | 'content_type' | 'content_encoding' | 'standard_webhooks' | 'form', string>>;

export interface FormView {
  session: DashboardSession;
  mode: 'create' | 'edit';
  /** Values to show: what was posted, or the stored webhook. */
  values: Partial<Record<'name' | 'url' | 'content_type' | 'content_encoding', string>> & { standard_webhooks?: boolean; has_secret?: boolean };
  errors: FieldErrors;
  flash?: Flash | null;
}

function field(
  id: keyof FieldErrors,
  label: string,
  control: (describedBy: string | null, invalid: boolean) => Html,
  errors: FieldErrors,
  hint?: string,
): Html {
  const err = errors[id];
  const ids = [hint ? `${id}-hint` : null, err ? `${id}-error` : null].filter(Boolean).join(' ') || null;
  return html`<div class="field">
  <label for="${id}">${label}</label>${hint ? html`<span class="hint" id="${id}-hint">${hint}</span>` : ''}
  ${control(ids, !!err)}
  ${err ? html`<p class="field-error" id="${id}-error">${err}</p>` : ''}
</div>`;
}

const attrs = (describedBy: string | null, invalid: boolean) =>
  html`${describedBy ? html` aria-describedby="${describedBy}"` : ''}${invalid ? html` aria-invalid="true"` : ''}`;

export function webhookFormPage(v: FormView): Html {
  const { values: val, errors } = v;
  const create = v.mode === 'create';
  const name = val.name ?? '';
  const action = create ? '/dashboard/webhooks/new' : `${webhookPath(name)}/edit`;
  const select = (id: 'content_type' | 'content_encoding', options: readonly string[], current: string) => (d: string | null, i: boolean) =>
    html`<select id="${id}" name="${id}"${attrs(d, i)}>${options.map((o) => html`<option value="${o}"${o === current ? html` selected` : ''}>${o}</option>`)}</select>`;
  const body = html`${flashDetails(v.flash ?? null)}
<h1>${create ? 'New webhook' : html`Edit webhook <span class="mono">${name}</span>`}</h1>
${errors.form ? html`<p class="flash flash-error" role="alert" id="form-error">${errors.form}</p>` : ''}
<form method="post" action="${action}" class="stack" novalidate>
  ${csrfField(v.session)}
  ${
    create
      ? field(
          'name',
          'Name',
          (d, i) =>
            html`<input id="name" name="name" type="text" value="${name}" required maxlength="64" autocomplete="off" spellcheck="false"${attrs(d, i)}>`,
          errors,
          'letters, digits, _ or -; up to 64; cannot be changed later',
        )
      : ''
  }
  ${field('url', 'URL', (d, i) => html`<input id="url" name="url" type="url" value="${val.url ?? ''}" required maxlength="2048" spellcheck="false"${attrs(d, i)}>`, errors, 'where deliveries are POSTed')}
  ${field(
    'secret',
    'Secret (optional)',
    (d, i) => html`<input id="secret" name="secret" type="password" autocomplete="new-password" maxlength="256"${attrs(d, i)}>`,
    errors,
    create
      ? 'echoed to your receiver in X-Scrapfly-Webhook-Secret'
      : val.has_secret
        ? 'a secret is set; leave blank to keep it'
        : 'none is set; echoed in X-Scrapfly-Webhook-Secret',
  )}
  ${!create && val.has_secret ? html`<label class="check"><input type="checkbox" name="clear_secret" id="clear_secret"> Remove the secret</label>` : ''}
  ${field('content_type', 'Content type', select('content_type', CONTENT_TYPES, val.content_type ?? 'application/json'), errors)}
  ${field('content_encoding', 'Content encoding', select('content_encoding', CONTENT_ENCODINGS, val.content_encoding ?? 'identity'), errors)}
  <label class="check"><input type="checkbox" name="standard_webhooks" id="standard_webhooks"${val.standard_webhooks ? html` checked` : ''}> Also send Standard Webhooks headers</label>
  <div class="actions"><button type="submit" class="primary">${create ? 'Create webhook' : 'Save changes'}</button><a href="/dashboard">Cancel</a></div>
</form>
${
  create
    ? ''
    : html`<section class="danger-zone" aria-labelledby="danger-title">
  <h2 id="danger-title">Danger zone</h2>
  <p>Rotating the signing secret makes the old one stop signing at once: receivers must switch to the new one.</p>
  <div class="actions">${rowButton(`${webhookPath(name)}/rotate-secret`, v.session, 'Rotate signing secret', name, 'danger')}<a class="button danger" href="${webhookPath(name)}/delete">Delete webhook…</a></div>
</section>`
}`;
  return page({ title: create ? 'New webhook' : `Edit ${name}`, section: 'webhooks', session: v.session, flash: null, body });
}

export function deleteConfirmPage(s: DashboardSession, w: Webhook): Html {
  return page({
    title: `Delete ${w.name}`,
    section: 'webhooks',
    session: s,
    body: html`<h1>Delete webhook <span class="mono">${w.name}</span>?</h1>
<p>Deliveries to <span class="url">${w.url}</span> stop for good and its delivery history goes with it. Jobs still waiting to be delivered block the delete: disable the webhook and let them finish first.</p>
<div class="actions">
  <form method="post" action="${webhookPath(w.name)}/delete" class="inline">${csrfField(s)}<button type="submit" class="danger-solid">Delete ${w.name}</button></form>
  <a href="/dashboard">Keep it</a>
</div>`,
  });
}

export interface NoticesView {
  session: DashboardSession;
  flash: Flash | null;
  notices: Notice[];
  nextBefore: number | null;
  paged: boolean;
}

export function notificationsPage(v: NoticesView): Html {
  const rows = v.notices.map(
    (n) => html`<tr class="notice-${n.kind}">
  <td data-label="Time">${time(n.created_at)}</td>
  <td data-label="Kind">${n.kind === 'disabled' ? html`<span class="bad">Disabled</span>` : html`<span class="warn">Warning</span>`}</td>
  <td data-label="Webhook">${n.webhook_name ? (n.webhook_exists ? html`<a href="${webhookPath(n.webhook_name)}">${n.webhook_name}</a>` : html`${n.webhook_name} <span class="muted">(deleted)</span>`) : html`<span class="muted">deleted webhook</span>`}</td>
  <td data-label="Consecutive failures" class="num">${n.consecutive_failed_count ?? ''}</td>
  <td data-label="Message">${n.message}</td>
</tr>`,
  );
  return page({
    title: 'Notifications',
    section: 'notifications',
    session: v.session,
    flash: layoutFlash(v.flash),
    body: html`${flashDetails(v.flash)}
<h1>Notifications</h1>
<p class="muted">Warnings when a webhook's consecutive failures reach 50 % and 90 % of the disable threshold, and the notice when it is disabled for them; newest first. The same list is <code>GET /notifications</code> for API keys.</p>
${
  v.notices.length === 0
    ? html`<p id="no-notices">${v.paged ? 'No older notifications.' : 'No notifications: every webhook is delivering, or none has failed often enough to warn about.'}</p>`
    : html`<div class="table-wrap"><table class="cards" id="notifications">
<caption class="vh">Notifications of ${v.session.project.name} (${v.session.env})</caption>
<thead><tr><th scope="col">Time</th><th scope="col">Kind</th><th scope="col">Webhook</th><th scope="col" class="num">Consecutive failures</th><th scope="col">Message</th></tr></thead>
<tbody>${rows}</tbody></table></div>`
}
<nav class="pager" aria-label="Pages">${v.paged ? html`<a href="/dashboard/notifications">Newest</a>` : ''}${v.nextBefore ? html`<a href="/dashboard/notifications?before=${v.nextBefore}" rel="next">Older notifications</a>` : ''}</nav>`,
  });
}
