import type { AttemptView } from '../../db/repositories/dashboard';
import type { DashboardSession, Job, JobResult } from '../../db/rows';
import { html, type Html } from '../html';
import { page, postButton, time } from '../layout';
import { attemptList, bytes } from './attempts';

export interface JobPageInput {
  session: DashboardSession;
  job: Job;
  result: Omit<JobResult, 'content' | 'body'> | null;
  attempts: AttemptView[];
  /** The job's workflow in the Temporal Web UI; null when no UI is configured. */
  workflowUrl: string | null;
  logUrl: string;
  flash: { kind: 'ok' | 'error'; text: string } | null;
}

const param = (p: Record<string, unknown>, k: string): string | null => (typeof p[k] === 'string' ? (p[k] as string) : null);

export function jobPage(o: JobPageInput): Html {
  const { job, result: r } = o;
  const replayable = job.webhook_id && job.delivery_status !== null && job.status !== 'queued' && job.status !== 'running';
  return page({
    title: `Job ${job.id}`,
    session: o.session,
    section: 'webhooks',
    flash: o.flash,
    body: html`<p class="crumbs"><a href="/dashboard">Webhooks</a> /${job.webhook_name ? html` <a href="/dashboard/webhooks/${encodeURIComponent(job.webhook_name)}">${job.webhook_name}</a> /` : ''}</p>
<h1>Job <span class="name">${job.id}</span></h1>
<dl class="facts">
  <dt>Kind</dt><dd>${job.kind}</dd>
  <dt>URL</dt><dd>${param(job.params, 'url') ?? '—'}</dd>
  <dt>Status</dt><dd><span class="job-status">${job.status}</span>${job.delivery_status && job.delivery_status !== job.status ? html` <span class="muted">(delivery ${job.delivery_status})</span>` : ''}</dd>
  <dt>Error</dt><dd>${job.error_code ? html`<code>${job.error_code}</code> ${job.error_message ?? ''}` : html`<span class="muted">none</span>`}</dd>
  <dt>Webhook</dt><dd>${job.webhook_name ?? html`<span class="muted">none (synchronous)</span>`}</dd>
  <dt>Created</dt><dd>${time(job.created_at)}</dd>
  <dt>Updated</dt><dd>${time(job.updated_at)}</dd>
  <dt>Completed</dt><dd>${time(job.completed_at)}</dd>
  <dt>Log URL</dt><dd>${o.logUrl}</dd>
  <dt>Workflow</dt><dd>${
    o.workflowUrl
      ? html`<a class="temporal-link" href="${o.workflowUrl}">job:${job.id} in the Temporal Web UI</a>`
      : html`<span class="muted">no link: TEMPORAL_UI_URL is not set (Hookshot uses an external Temporal)</span>`
  }</dd>
</dl>
<h2>Result</h2>
${
  r
    ? html`<dl class="facts">
  <dt>Target answered</dt><dd>${r.status_code ?? '—'}</dd>
  <dt>Final URL</dt><dd>${r.final_url ?? '—'}</dd>
  <dt>Format</dt><dd>${r.format}${r.content_type ? html` <span class="muted">(${r.content_type})</span>` : ''}</dd>
  <dt>Size</dt><dd>${bytes(r.size_bytes)}</dd>
  <dt>Capture took</dt><dd>${r.duration_ms} ms</dd>
</dl>`
    : html`<p class="muted">No result stored (the capture has not finished, or failed before producing one).</p>`
}
<h2>Delivery attempts</h2>
${replayable ? html`<div class="actions">${postButton(`/dashboard/jobs/${job.id}/replay`, o.session, 'Replay this job', 'button', { from: 'job' })}</div>` : ''}
${job.webhook_id || o.attempts.length ? attemptList(o.attempts, { session: o.session, jobLinks: false, replayFrom: null }) : html`<p class="muted">This job has no webhook: nothing is delivered.</p>`}`,
  });
}
