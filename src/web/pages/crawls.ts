import type { AttemptView, CrawlEventView, CrawlPageView, CrawlSummary } from '../../db/repositories/dashboard';
import type { Crawl, DashboardSession } from '../../db/rows';
import { html, type Html } from '../html';
import { page, time } from '../layout';
import { attemptList, payloadBlock } from './attempts';
import { pager } from './history';
import { webhookPath } from './webhooks';
import { crawlerStatus } from '../../delivery/crawlerEvent';

const kindLabel = (k: Crawl['kind']) => (k === 'crawl' ? 'crawl' : k === 'crawler' ? 'crawler' : 'batch scrape');
/** Which API made it: Firecrawl's version, or Scrapfly's Crawler API. */
const apiLabel = (c: Pick<Crawl, 'kind' | 'api_version'>) => (c.kind === 'crawler' ? 'Scrapfly' : `v${c.api_version}`);
/** A crawler's status as its API reports it (DONE with success or not), beside the engine's. */
const crawlerLabel = (c: Pick<Crawl, 'kind' | 'status' | 'started_at' | 'completed_at'>) => {
  if (c.kind !== 'crawler') return '';
  const s = crawlerStatus(c);
  return ` · ${s.status}${s.is_success === false && s.status === 'DONE' ? ' (not successful)' : ''}`;
};
const statusClass = (s: Crawl['status']) => (s === 'completed' ? 'ok' : s === 'failed' ? 'bad' : s === 'cancelled' ? 'warn' : '');

export function crawlListPage(o: { session: DashboardSession; rows: CrawlSummary[]; older: string | null; newer: string | null }): Html {
  return page({
    title: 'Crawls',
    session: o.session,
    section: 'crawls',
    body: html`<h1>Crawls and batch scrapes</h1>
${
  o.rows.length === 0
    ? html`<p class="muted">None yet. Start one with <code>POST /v2/crawl</code>, <code>POST /v2/batch/scrape</code> or Scrapfly's <code>POST /crawl</code>.</p>`
    : html`<div class="table-wrap"><table class="crawls">
<caption class="muted">Newest first</caption>
<thead><tr><th scope="col">Started</th><th scope="col">Kind</th><th scope="col">URL</th><th scope="col">Status</th><th scope="col">Pages</th></tr></thead>
<tbody>${o.rows.map(
        (c) => html`<tr>
<td><a href="/dashboard/crawls/${c.id}">${time(c.created_at)}</a></td>
<td>${kindLabel(c.kind)} <span class="muted">${apiLabel(c)}</span></td>
<td class="url">${c.url ?? html`<span class="muted">(list of URLs)</span>`}</td>
<td><span class="${statusClass(c.status)}">${c.status}</span>${c.stop_reason ? html` <span class="muted">${c.stop_reason}</span>` : ''}</td>
<td>${c.completed} / ${c.total}</td>
</tr>`,
      )}</tbody></table></div>`
}
${pager(o.newer, o.older)}`,
  });
}

const yesNo = (v: boolean | null | undefined) => (v ? 'yes' : 'no');

const list = (v: readonly string[] | null | undefined) => (v && v.length ? v.join(', ') : '—');

/** A crawler's options under Scrapfly's names, as the caller sent them. */
function crawlerOptionsSummary(c: Crawl): Html {
  const s = c.options.scope ?? {};
  const k = c.options.crawler;
  return html`<dl class="facts">
  <dt>content_formats</dt><dd>${list(k?.formats)}</dd>
  <dt>page_limit</dt><dd>${c.page_limit} pages</dd>
  <dt>max_depth</dt><dd>${s.maxDiscoveryDepth ?? '—'}</dd>
  <dt>max_duration</dt><dd>${k ? `${Math.round(k.maxDurationMs / 1000)} s` : '—'}</dd>
  <dt>include_only_paths</dt><dd>${list(s.includePaths)}</dd>
  <dt>exclude_paths</dt><dd>${list(s.excludePaths)}</dd>
  <dt>ignore_base_path_restriction</dt><dd>${yesNo(s.crawlEntireDomain)}</dd>
  <dt>follow_internal_subdomains</dt><dd>${yesNo(s.allowSubdomains)}${s.allowedSubdomains?.length ? html` (${list(s.allowedSubdomains)})` : ''}</dd>
  <dt>follow_external_links</dt><dd>${yesNo(s.allowExternalLinks)}${s.allowedExternalDomains?.length ? html` (${list(s.allowedExternalDomains)})` : ''}</dd>
  <dt>use_sitemaps</dt><dd>${yesNo(c.options.sitemap !== 'skip')}</dd>
  <dt>respect_robots_txt</dt><dd>${yesNo(!c.options.ignoreRobotsTxt)}</dd>
  <dt>ignore_no_follow</dt><dd>${yesNo(k?.ignoreNoFollow)}</dd>
  <dt>delay</dt><dd>${k?.delayMs ?? 0} ms</dd>
  <dt>rendering_delay</dt><dd>${k && k.renderingDelayMs > 0 ? `${k.renderingDelayMs} ms (Chromium)` : '0 (no browser)'}</dd>
  <dt>max_concurrency</dt><dd>${c.options.maxConcurrency ?? '—'}</dd>
  <dt>headers</dt><dd>${Object.keys(c.options.headers ?? {}).length ? html`${Object.keys(c.options.headers).join(', ')} <span class="muted">(values not shown)</span>` : '—'}</dd>
</dl>`;
}

function optionsSummary(c: Crawl): Html {
  if (c.kind === 'crawler') return crawlerOptionsSummary(c);
  const s = c.options.scope ?? {};
  return html`<dl class="facts">
  <dt>Formats</dt><dd>${c.options.formats.join(', ')}</dd>
  <dt>Limit</dt><dd>${c.page_limit} pages</dd>
  ${
    c.kind === 'crawl'
      ? html`<dt>Include paths</dt><dd>${list(s.includePaths)}</dd>
  <dt>Exclude paths</dt><dd>${list(s.excludePaths)}</dd>
  <dt>Depth</dt><dd>${s.maxDiscoveryDepth ?? s.maxDepth ?? '—'}</dd>
  <dt>Whole domain / subdomains / external</dt><dd>${yesNo(s.crawlEntireDomain ?? s.allowBackwardLinks)} / ${yesNo(s.allowSubdomains)} / ${yesNo(s.allowExternalLinks)}</dd>
  <dt>Sitemap</dt><dd>${c.options.sitemap}</dd>
  <dt>robots.txt</dt><dd>${c.options.ignoreRobotsTxt ? 'ignored' : 'obeyed'}</dd>`
      : ''
  }
  <dt>Request headers</dt><dd>${Object.keys(c.options.headers ?? {}).length ? html`${Object.keys(c.options.headers).join(', ')} <span class="muted">(values not shown)</span>` : '—'}</dd>
</dl>`;
}

function webhookSummary(c: Crawl): Html {
  if (c.kind === 'crawler') {
    if (!c.webhook_name) return html`<p class="muted">No webhook: results are read with the status, urls and contents endpoints.</p>`;
    return html`<dl class="facts">
  <dt>Named webhook</dt><dd>${c.webhook_id ? html`<a href="${webhookPath(c.webhook_name)}">${c.webhook_name}</a>` : html`${c.webhook_name} <span class="muted">(deleted)</span>`}</dd>
  <dt>Events</dt><dd>${list(c.options.crawler?.events)}</dd>
</dl>`;
  }
  const w = c.webhook;
  if (!w) return html`<p class="muted">No webhook: results are read with the status endpoint.</p>`;
  const headerNames = Object.keys(w.headers ?? {});
  const metaKeys = Object.keys(w.metadata ?? {});
  // Header values are often the receiver's credentials: names only.
  return html`<dl class="facts">
  <dt>URL</dt><dd>${w.url}</dd>
  <dt>Events</dt><dd>${w.events.join(', ')}</dd>
  <dt>Custom headers</dt><dd>${headerNames.length ? html`${headerNames.join(', ')} <span class="muted">(values not shown)</span>` : '—'}</dd>
  <dt>Metadata keys</dt><dd>${metaKeys.length ? metaKeys.join(', ') : '—'}</dd>
</dl>`;
}

function pagesTable(rows: CrawlPageView[]): Html {
  if (rows.length === 0) return html`<p class="muted">No pages yet.</p>`;
  return html`<div class="table-wrap"><table class="pages">
<thead><tr><th scope="col">URL</th><th scope="col">State</th><th scope="col">Status code</th><th scope="col">Error</th></tr></thead>
<tbody>${rows.map(
    (p) => html`<tr><td class="url">${p.url}${p.title ? html`<br><span class="muted">${p.title}</span>` : ''}</td>
<td><span class="${p.status === 'done' ? 'ok' : p.status === 'failed' ? 'bad' : p.status === 'skipped' ? 'muted' : ''}">${p.status}</span></td>
<td>${p.status_code ?? '—'}</td><td>${p.error ?? ''}</td></tr>`,
  )}</tbody></table></div>`;
}

function eventItem(e: CrawlEventView, session: DashboardSession, last: AttemptView | undefined): Html {
  return html`<li class="event" id="event-${e.seq}">
<div class="attempt-line"><strong>${e.event}</strong> <span class="muted">seq ${e.seq}</span> ${time(e.created_at)}
<span class="${e.delivery_status === 'delivered' ? 'ok' : e.delivery_status === 'failed' ? 'bad' : 'warn'}">${e.delivery_status}</span>
<span class="muted">first attempt ${e.first_done ? 'done' : 'not done'} · ${e.attempts.length} attempt${e.attempts.length === 1 ? '' : 's'}${last ? html`, last ${last.status_code !== null ? `HTTP ${last.status_code}` : (last.error_code ?? '')}` : ''}</span></div>
${payloadBlock(0, null, e.body)}
${e.attempts.length ? html`<details class="event-attempts"><summary>Attempts (${e.attempts.length})</summary>${attemptList(e.attempts, { session, jobLinks: false, replayFrom: null, eventBody: e.body })}</details>` : ''}
</li>`;
}

export interface CrawlPageInput {
  session: DashboardSession;
  crawl: Crawl;
  counts: Record<string, number>;
  pages: CrawlPageView[];
  pagesNext: string | null;
  pagesFirst: string | null;
  events: CrawlEventView[];
  eventsNext: string | null;
  eventsFirst: string | null;
}

export function crawlPage(o: CrawlPageInput): Html {
  const c = o.crawl;
  return page({
    title: `${kindLabel(c.kind)} ${c.id}`,
    session: o.session,
    section: 'crawls',
    body: html`<p class="crumbs"><a href="/dashboard/crawls">Crawls</a> /</p>
<h1>${kindLabel(c.kind)} <span class="name">${c.id}</span></h1>
<dl class="facts">
  <dt>Status</dt><dd><span class="crawl-status ${statusClass(c.status)}">${c.status}</span>${crawlerLabel(c)}${c.stop_reason ? html` <span class="muted">stop_reason ${c.stop_reason}</span>` : ''}${c.error && c.error !== c.stop_reason ? html` <span class="muted">(${c.error})</span>` : ''}</dd>
  <dt>Start URL</dt><dd>${c.url ?? html`<span class="muted">(a list of URLs)</span>`}</dd>
  <dt>Pages</dt><dd>${c.completed} scraped of ${c.total} · ${o.counts.done ?? 0} done, ${o.counts.failed ?? 0} failed, ${(o.counts.pending ?? 0) + (o.counts.running ?? 0)} to go${c.kind === 'crawler' ? ` · ${c.skipped} skipped` : ''}</dd>
  <dt>Credits used</dt><dd>${c.credits_used}</dd>
  <dt>API</dt><dd>${c.kind === 'crawler' ? "Scrapfly's Crawler API" : `Firecrawl v${c.api_version}`}</dd>
  <dt>Started</dt><dd>${time(c.created_at)}</dd>
  <dt>Finished</dt><dd>${time(c.completed_at)}</dd>
  <dt>Results until</dt><dd>${time(c.expires_at)}</dd>
</dl>
<details class="options"><summary>Options</summary>${optionsSummary(c)}</details>
<h2>Webhook</h2>
${webhookSummary(c)}
<h2 id="pages">Pages</h2>
${pagesTable(o.pages)}
${pager(o.pagesFirst, o.pagesNext, ['First pages', 'More pages →'])}
<h2 id="events">Events</h2>
${o.events.length ? html`<ol class="attempts events">${o.events.map((e) => eventItem(e, o.session, e.attempts[0]))}</ol>` : html`<p class="muted">No events${c.webhook || c.webhook_name ? ' yet' : ''}.</p>`}
${pager(o.eventsFirst, o.eventsNext, ['First events', 'More events →'])}`,
  });
}
