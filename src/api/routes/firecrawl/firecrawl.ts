import Router from '@koa/router';
import { WorkflowNotFoundError } from '@temporalio/client';
import { CrawlSubmitter, type ApiVersion, type CrawlRequest } from '../../../commands/crawlSubmitter';
import { errorMessage } from '../../../commands/workflowStart';
import { getCrawlInScope, markCrawlCancelled, endAbandonedCrawl } from '../../../db/repositories/crawls';
import { listCrawlDocuments, listCrawlDocumentSizes } from '../../../db/repositories/crawlPages';
import type { Crawl } from '../../../db/rows';
import { AppError } from '../../../errors';
import { crawlWorkflowId } from '../../../shared/names';
import { cancelCrawlSignal } from '../../../shared/workflowApi';
import type { ApiDeps, AppState, Ctx } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { input, validate } from '../../middleware/validate';
import { BatchBody, CancelById, CrawlBody, CrawlById, type BatchBodyInput, type CrawlBodyInput } from './schema';

// Firecrawl's crawl and batch scrape API (SPEC section 7), under /v1 and /v2
// alike; docs/firecrawl-contract.md says what the official clients need.
// Every success is exactly 200 (both clients test `=== 200`).

export const FIRECRAWL_VERSIONS = [1, 2] as const;

export const STATUS_PAGE_DEFAULT = 100;
/** A status page stops before this many bytes of documents (always at least one document). */
export const STATUS_PAGE_MAX_BYTES = 10 * 1024 * 1024;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function firecrawlRoutes(deps: ApiDeps): Router<AppState> {
  const { db, config, temporal } = deps;
  const submitter = new CrawlSubmitter(deps);
  const r = new Router<AppState>({ sensitive: true });

  /**
   * Where links the client follows point: PUBLIC_URL when the operator set
   * it (it may carry a path prefix), else this request's own scheme and host, so a
   * client that reached us at 127.0.0.1:<port> is sent back there. The v1
   * client needs it absolute.
   */
  // (Not ctx.origin: since Koa 3 that is the Origin request header.) Behind
  // a proxy (app.proxy) this is X-Forwarded-Proto/-Host, which only the
  // client itself can set: it can only point its own next links elsewhere.
  const base = (ctx: Ctx) => (config.publicUrlSet ? config.publicUrl : `${ctx.protocol}://${ctx.host}`);

  /** The caller's crawl or batch (one id namespace: either path reads either kind), else 404. */
  const findCrawl = async (ctx: Ctx): Promise<Crawl> => {
    const { id } = input<{ id: string }>(ctx);
    const { project, env } = scopeOf(ctx);
    const crawl = UUID.test(id) ? await getCrawlInScope(db, id.toLowerCase(), project.id, env) : null;
    if (!crawl) throw new AppError('ERR::CRAWL::NOT_FOUND', `no crawl or batch scrape with id "${id.slice(0, 64)}" in this project and environment`);
    return crawl;
  };

  const start = (kind: 'crawl' | 'batch_scrape', v: ApiVersion) => async (ctx: Ctx) => {
    const { project, env } = scopeOf(ctx);
    const request: CrawlRequest =
      kind === 'crawl'
        ? { kind: 'crawl', apiVersion: v, body: input<CrawlBodyInput>(ctx) }
        : { kind: 'batch_scrape', apiVersion: v, body: input<BatchBodyInput>(ctx) };
    const out = await submitter.submit({ project, env, request });
    const path = kind === 'crawl' ? 'crawl' : 'batch/scrape';
    ctx.body = {
      success: true,
      id: out.id,
      url: `${base(ctx)}/v${v}/${path}/${out.id}`,
      ...(kind === 'batch_scrape' ? { invalidURLs: out.invalidURLs } : {}),
    };
  };

  const status = async (ctx: Ctx) => {
    const crawl = await findCrawl(ctx);
    const q = input<{ skip?: number; limit?: number }>(ctx);
    const skip = q.skip ?? 0;
    const limit = q.limit ?? STATUS_PAGE_DEFAULT;
    // Sizes first, one more than the page: how many documents fit, and whether any follow.
    const sizes = await listCrawlDocumentSizes(db, crawl.id, skip, limit + 1);
    let n = 0;
    let bytes = 0;
    while (n < Math.min(limit, sizes.length) && (n === 0 || bytes + sizes[n]! <= STATUS_PAGE_MAX_BYTES)) bytes += sizes[n++]!;
    const data = n > 0 ? await listCrawlDocuments(db, crawl.id, skip, n) : [];
    // `next` only when finished documents follow: the v1 client pages while
    // the key exists (null is fatal to it), and v2 follows any next, even
    // from an empty page, forever. A running crawl with nothing more yet has
    // no next: clients poll the status again.
    const more = sizes.length > n && data.length > 0;
    const next = `${base(ctx)}${ctx.path}?skip=${skip + data.length}${q.limit !== undefined ? `&limit=${q.limit}` : ''}`;
    ctx.body = {
      success: true,
      status: crawl.status,
      total: crawl.total,
      completed: crawl.completed,
      creditsUsed: crawl.credits_used,
      expiresAt: crawl.expires_at.toISOString(),
      ...(more ? { next } : {}),
      data,
    };
  };

  /**
   * Cancel. An ended crawl answers 200 with the status it ended with rather
   * than an error: the v2 client then returns false (it returns
   * `status === "cancelled"`), which is the truth, and a repeated DELETE is
   * harmless. A cancelled crawl that has not ended is signalled again on
   * every DELETE, so a signal lost to a Temporal outage is sent by the retry.
   */
  const cancel = async (ctx: Ctx) => {
    let crawl = await findCrawl(ctx);
    if (crawl.status === 'scraping') {
      // false: it ended between the read and the update; answer with how.
      crawl = (await markCrawlCancelled(db, crawl.id)) ? { ...crawl, status: 'cancelled' } : await findCrawl(ctx);
    }
    if (crawl.status === 'cancelled' && !crawl.completed_at) {
      try {
        await temporal.connection.withDeadline(Date.now() + 10_000, () =>
          temporal.workflow.getHandle(crawlWorkflowId(crawl.id)).signal(cancelCrawlSignal),
        );
      } catch (err) {
        // Closed without ending the crawl, or never started (an unconfirmed
        // start): nothing runs that could scrape further or end it, so it
        // ends here and stops counting against the queue limit.
        if (err instanceof WorkflowNotFoundError) {
          await endAbandonedCrawl(db, crawl.id);
        } else {
          throw new AppError(
            'ERR::TEMPORAL::UNAVAILABLE',
            `the crawl is marked cancelled, but its workflow could not be told (${errorMessage(err)}); send the DELETE again`,
          );
        }
      }
    }
    ctx.body = { success: true, status: crawl.status };
  };

  for (const v of FIRECRAWL_VERSIONS) {
    const key = requireKey(db);
    r.post(`/v${v}/crawl`, key, validate(CrawlBody), start('crawl', v));
    r.get(`/v${v}/crawl/:id`, key, validate(CrawlById), status);
    r.delete(`/v${v}/crawl/:id`, key, validate(CancelById), cancel);
    r.post(`/v${v}/batch/scrape`, key, validate(BatchBody), start('batch_scrape', v));
    r.get(`/v${v}/batch/scrape/:id`, key, validate(CrawlById), status);
    r.delete(`/v${v}/batch/scrape/:id`, key, validate(CancelById), cancel);
  }
  return r;
}
