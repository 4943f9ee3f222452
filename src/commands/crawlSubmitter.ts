import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Config } from '../config';
import { withTransaction, type Db } from '../db/pool';
import { failUnstartedCrawl, type PageSeed } from '../db/repositories/crawls';
import { QUEUE_LIMITS } from '../db/repositories/projects';
import type { Env, Project } from '../db/rows';
import { AppError, ValidationError } from '../errors';
import type { Logger } from '../logger';
import { compileScope, type CrawlScopeOptions } from '../crawl/scope';
import { canonicalUrl, normalizeUrl } from '../crawl/urls';
import { DOCUMENT_FORMATS, type CrawlOptions, type CrawlWebhook, type DocumentFormat } from '../shared/contracts/crawl';
import { CRAWL_EVENT_TYPES, crawlWorkflowId, type CrawlEventType, type CrawlKind } from '../shared/names';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME } from '../shared/searchAttributes';
import { buildCrawlWorkflowInput } from '../temporal/crawlInput';
import type { BatchBodyInput, CrawlBodyInput } from '../api/routes/firecrawl/schema';
import { insertCrawlWithinQueueLimit } from './queueLimit';
import { errorMessage, startFreshWorkflow } from './workflowStart';

export type ApiVersion = 1 | 2;

export type CrawlRequest =
  | { kind: 'crawl'; apiVersion: ApiVersion; body: CrawlBodyInput }
  | { kind: 'batch_scrape'; apiVersion: ApiVersion; body: BatchBodyInput };

/** A request read into what is stored: the crawls row's fields and its first pages. */
export interface NormalizedCrawl {
  kind: CrawlKind;
  apiVersion: ApiVersion;
  /** The start URL, normalized (null for a batch). */
  url: string | null;
  options: CrawlOptions;
  webhook: CrawlWebhook | null;
  pageLimit: number;
  seeds: PageSeed[];
  /** Batch with ignoreInvalidURLs: the entries skipped, as given. */
  invalidURLs: string[];
}

// Headers a caller may not set on its event deliveries: the body's type and
// signature are ours to state, and connection-level headers belong to the
// sender (overriding them would corrupt the request, not customize it).
const RESERVED_WEBHOOK_HEADERS = new Set([
  'content-type',
  'x-firecrawl-signature',
  'content-length',
  'host',
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'trailers',
  'transfer-encoding',
  'upgrade',
]);
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/;
const MAX_WEBHOOK_HEADERS = 50;
const MAX_METADATA_BYTES = 16 * 1024;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const bad = (field: string, message: string) => new ValidationError(`${field}: ${message}`);
const given = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

function readWebhook(raw: unknown): CrawlWebhook | null {
  if (!given(raw)) return null;
  const spec = typeof raw === 'string' ? { url: raw } : raw;
  if (!isPlainObject(spec)) throw bad('webhook', 'must be an https:// URL or an object {url, headers, metadata, events}');
  const { url, headers, metadata, events } = spec;
  if (typeof url !== 'string' || url === '') throw bad('webhook.url', 'is required (an https:// URL)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw bad('webhook.url', 'is not a valid URL');
  }
  // Inline webhooks carry page documents to a URL nobody registered: only
  // over TLS (SPEC section 7), whatever WEBHOOK_REQUIRE_HTTPS says for named ones.
  if (parsed.protocol !== 'https:') throw bad('webhook.url', 'must be an https:// URL');
  if (url.length > 2048) throw bad('webhook.url', 'must be at most 2048 characters');
  if (parsed.username || parsed.password) throw bad('webhook.url', 'must not carry credentials; send them in webhook.headers');

  // Collected as entries: a key such as "__proto__" must stay a (refused or kept) header, not reach a prototype.
  const headerEntries: Array<[string, string]> = [];
  if (given(headers)) {
    if (!isPlainObject(headers)) throw bad('webhook.headers', 'must be an object of header names to string values');
    const entries = Object.entries(headers);
    if (entries.length > MAX_WEBHOOK_HEADERS) throw bad('webhook.headers', `must have at most ${MAX_WEBHOOK_HEADERS} headers`);
    for (const [name, value] of entries) {
      const field = `webhook.headers.${name}`;
      if (!HEADER_NAME.test(name)) throw bad(field, 'is not a valid header name');
      if (RESERVED_WEBHOOK_HEADERS.has(name.toLowerCase())) throw bad(field, 'is set by Hookshot and cannot be overridden');
      if (typeof value !== 'string') throw bad(field, 'must be a string');
      if (value.length > 8192 || /[\r\n\0]/.test(value)) throw bad(field, 'must be at most 8192 characters, without line breaks');
      headerEntries.push([name, value]);
    }
  }
  const outHeaders = Object.fromEntries(headerEntries);

  let outMetadata: Record<string, unknown> = {};
  if (given(metadata)) {
    if (!isPlainObject(metadata)) throw bad('webhook.metadata', 'must be a JSON object');
    if (Buffer.byteLength(JSON.stringify(metadata)) > MAX_METADATA_BYTES) throw bad('webhook.metadata', `must be at most ${MAX_METADATA_BYTES} bytes as JSON`);
    outMetadata = metadata;
  }

  let outEvents: CrawlEventType[] = [...CRAWL_EVENT_TYPES];
  if (given(events)) {
    if (!Array.isArray(events)) throw bad('webhook.events', `must be an array of ${CRAWL_EVENT_TYPES.join(', ')}`);
    const picked = new Set<CrawlEventType>();
    events.forEach((e, i) => {
      // Firecrawl's docs also show the full names (crawl.page): the kind is implied by the job.
      const name = typeof e === 'string' ? e.replace(/^(crawl|batch_scrape)\./, '') : e;
      if (!(CRAWL_EVENT_TYPES as readonly unknown[]).includes(name)) {
        throw bad(`webhook.events[${i}]`, `must be one of ${CRAWL_EVENT_TYPES.join(', ')}`);
      }
      picked.add(name as CrawlEventType);
    });
    if (picked.size === 0) throw bad('webhook.events', 'must name at least one event (omit it for all)');
    outEvents = CRAWL_EVENT_TYPES.filter((t) => picked.has(t));
  }
  return { url, headers: outHeaders, metadata: outMetadata, events: outEvents };
}

/**
 * Formats other than the four Hookshot produces are refused, not dropped:
 * a caller asking for a screenshot or JSON extraction would otherwise get
 * documents silently missing what it asked for. The SDKs send formats only
 * when the caller gives them, so a default SDK call never meets this.
 */
function readFormats(raw: unknown[] | null | undefined, field: string): DocumentFormat[] {
  if (!given(raw)) return ['markdown'];
  const out = new Set<DocumentFormat>();
  raw.forEach((entry, i) => {
    const name = typeof entry === 'string' ? entry : isPlainObject(entry) ? entry.type : undefined;
    if (typeof name !== 'string') throw bad(`${field}[${i}]`, 'must be a format name or an object {type}');
    if (!(DOCUMENT_FORMATS as readonly string[]).includes(name)) {
      throw bad(`${field}[${i}]`, `"${name.slice(0, 64)}" is not supported; supported formats are ${DOCUMENT_FORMATS.join(', ')}`);
    }
    out.add(name as DocumentFormat);
  });
  return DOCUMENT_FORMATS.filter((f) => out.has(f));
}

type ScrapeFields = Pick<CrawlBodyInput, 'formats' | 'onlyMainContent' | 'headers' | 'timeout'>;

/** Scrape options from scrapeOptions (the crawl's place) or the top level (the batch's); both forms on both. */
function readScrapeOptions(body: ScrapeFields & { scrapeOptions?: ScrapeFields | null }, maxTimeoutMs: number) {
  const nested = body.scrapeOptions ?? {};
  const pick = <K extends keyof ScrapeFields>(k: K): { value: ScrapeFields[K]; field: string } =>
    given(nested[k]) ? { value: nested[k], field: `scrapeOptions.${k}` } : { value: body[k], field: k };
  const formats = pick('formats');
  const timeout = pick('timeout');
  if (given(timeout.value) && (timeout.value < 1000 || timeout.value > maxTimeoutMs)) {
    throw bad(timeout.field, `must be between 1000 and ${maxTimeoutMs} ms`);
  }
  return {
    formats: readFormats(formats.value as unknown[] | null | undefined, formats.field),
    onlyMainContent: pick('onlyMainContent').value ?? true,
    headers: pick('headers').value ?? {},
    timeoutMs: timeout.value ?? null,
  };
}

/** Reads either kind of request, from either API version, into what is stored; throws a 400 naming the field. */
export function normalizeCrawlRequest(config: Pick<Config, 'crawl' | 'scrape'>, req: CrawlRequest): NormalizedCrawl {
  const b = req.body;
  const webhook = readWebhook(b.webhook);
  const scrape = readScrapeOptions(b, config.scrape.timeoutMs);
  const ignoreQuery = b.ignoreQueryParameters === true;
  const shared = {
    ...scrape,
    ignoreRobotsTxt: b.ignoreRobotsTxt === true,
    ignoreQueryParameters: ignoreQuery,
    maxConcurrency: b.maxConcurrency ?? null,
    robotsUserAgent: b.robotsUserAgent ?? null,
  };

  if (req.kind === 'crawl') {
    const c = req.body;
    const scopeOptions: CrawlScopeOptions = {};
    for (const k of ['includePaths', 'excludePaths', 'regexOnFullURL', 'maxDepth', 'maxDiscoveryDepth', 'allowBackwardLinks', 'crawlEntireDomain', 'allowSubdomains', 'allowExternalLinks'] as const) {
      if (given(c[k])) (scopeOptions as Record<string, unknown>)[k] = c[k];
    }
    const compiled = compileScope(c.url, scopeOptions);
    if (!compiled.ok) {
      const { field, message } = compiled.error;
      // scope.ts messages start with the field's name; the API's form is "field: what is wrong".
      throw new ValidationError(message.startsWith(`${field} `) ? `${field}: ${message.slice(field.length + 1)}` : `${field}: ${message}`);
    }
    const startUrl = compiled.scope.startUrl;
    const canonical = canonicalUrl(startUrl, undefined, { ignoreQuery })!;
    // v2's sitemap wins; v1's ignoreSitemap is its "skip".
    const sitemap = c.sitemap ?? (c.ignoreSitemap === true ? 'skip' : 'include');
    return {
      kind: 'crawl',
      apiVersion: req.apiVersion,
      url: startUrl,
      options: { scope: scopeOptions, sitemap, ...shared },
      webhook,
      // A larger limit is not an error: Firecrawl caps it by the account's allowance too.
      pageLimit: Math.min(c.limit ?? config.crawl.maxPages, config.crawl.maxPages),
      seeds: [{ url: startUrl, canonical, depth: 0 }],
      invalidURLs: [],
    };
  }

  const batch = req.body;
  if (given(batch.appendToId)) throw bad('appendToId', 'is not supported: start a new batch scrape');
  // Firecrawl's own defaults differ by version: v1 refuses the request, v2 skips the URL.
  const ignoreInvalid = batch.ignoreInvalidURLs ?? req.apiVersion === 2;
  const seeds: PageSeed[] = [];
  const seen = new Set<string>();
  const invalidURLs: string[] = [];
  batch.urls.forEach((u, i) => {
    const norm = typeof u === 'string' ? normalizeUrl(u.trim()) : null;
    if (!norm?.ok || (typeof u === 'string' && u.length > 8192)) {
      if (!ignoreInvalid) throw bad(`urls[${i}]`, 'must be an absolute http(s) URL (or set ignoreInvalidURLs to skip invalid ones)');
      invalidURLs.push(typeof u === 'string' ? u : JSON.stringify(u) ?? String(u));
      return;
    }
    const canonical = canonicalUrl(norm.url, undefined, { ignoreQuery })!;
    if (seen.has(canonical)) return;
    seen.add(canonical);
    seeds.push({ url: norm.url, canonical, depth: 0 });
  });
  if (seeds.length === 0) throw bad('urls', 'no valid URL to scrape');
  if (seeds.length > config.crawl.maxPages) throw bad('urls', `must list at most ${config.crawl.maxPages} distinct URLs`);
  return {
    kind: 'batch_scrape',
    apiVersion: req.apiVersion,
    url: null,
    options: { scope: {}, sitemap: 'skip', ...shared },
    webhook,
    pageLimit: seeds.length,
    seeds,
    invalidURLs,
  };
}

export interface CrawlSubmitterDeps {
  db: Db;
  config: Config;
  logger: Logger;
  temporal: Client;
}

/**
 * Creates a crawl or batch scrape: within the plan's queue limit (a crawl
 * counts as one pending element until it settles), the row and its first
 * pages in one transaction, then its workflow crawl:<uuid>.
 *
 * As in JobSubmitter, a row is never removed once written: a start that
 * surely did not land ends the crawl failed (and settled, so it stops
 * counting against the queue); a start that may have landed leaves it as it
 * is, for the workflow that may be running.
 */
export class CrawlSubmitter {
  constructor(private readonly deps: CrawlSubmitterDeps) {}

  async submit(s: { project: Project; env: Env; request: CrawlRequest }): Promise<{ id: string; invalidURLs: string[] }> {
    const { db, config } = this.deps;
    const n = normalizeCrawlRequest(config, s.request);
    const id = randomUUID();
    const limit = QUEUE_LIMITS[s.project.plan];
    await withTransaction(db, async (c) => {
      await insertCrawlWithinQueueLimit(
        c,
        {
          id,
          project_id: s.project.id,
          env: s.env,
          kind: n.kind,
          api_version: n.apiVersion,
          url: n.url,
          options: n.options,
          webhook: n.webhook,
          page_limit: n.pageLimit,
          expires_at: new Date(Date.now() + config.crawl.expiresAfterMs),
        },
        n.seeds,
        limit,
      );
    });
    await this.startOrExplain(s.project, id, n);
    return { id, invalidURLs: n.invalidURLs };
  }

  private async startOrExplain(project: Project, id: string, n: NormalizedCrawl): Promise<void> {
    const { db, config, logger, temporal } = this.deps;
    const what = n.kind === 'crawl' ? 'crawl' : 'batch scrape';
    const out = await startFreshWorkflow(
      temporal,
      logger,
      'crawlWorkflow',
      {
        workflowId: crawlWorkflowId(id),
        taskQueue: config.temporal.taskQueue,
        args: [buildCrawlWorkflowInput(config, { crawlId: id, kind: n.kind, maxConcurrency: n.options.maxConcurrency })],
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: [
          { key: SA_PROJECT_NAME, value: project.name },
          { key: SA_JOB_STATUS, value: 'scraping' },
          { key: SA_JOB_KIND, value: n.kind },
        ],
      },
      { what: 'crawl workflow', fields: { crawlId: id } },
    );
    if (out.state === 'started') return;
    if (out.state === 'not-started') {
      const text = `${what} could not be scheduled: ${errorMessage(out.error)}`;
      const failed = await withTransaction(db, (c) => failUnstartedCrawl(c, id, text));
      // The row moved on: a workflow has it after all.
      if (!failed) return;
      logger.warn({ crawlId: id, err: out.error }, 'crawl workflow was not started; crawl marked failed');
      throw new AppError('ERR::TEMPORAL::UNAVAILABLE', `${text}; nothing was started, submit it again`);
    }
    logger.error({ crawlId: id, err: out.error }, 'crawl workflow start could not be confirmed; crawl kept as it is');
    throw new AppError(
      'ERR::TEMPORAL::UNAVAILABLE',
      `${what} ${id} may or may not have started: Temporal did not confirm it (${errorMessage(out.error)}); check its status before submitting it again`,
    );
  }
}
