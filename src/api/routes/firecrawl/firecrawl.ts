import Router from '@koa/router';
import { CrawlCanceller, findCrawl, type CrawlOwner } from '../../../commands/crawlCanceller';
import { CrawlSubmitter, type ApiVersion } from '../../../commands/crawlSubmitter';
import { listCrawlDocuments, listCrawlDocumentSizes } from '../../../db/repositories/crawlPages';
import type { ApiDeps, AppState, Ctx } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { withInput } from '../../middleware/validate';
import { BatchBody, CancelById, CrawlBody, CrawlById } from './schema';

// Firecrawl's crawl and batch scrape API (SPEC section 7), under /v1 and /v2
// alike; docs/firecrawl-contract.md says what the official clients need.
// Every success is exactly 200 (both clients test `=== 200`).

export const FIRECRAWL_VERSIONS = [1, 2] as const;

export const STATUS_PAGE_DEFAULT = 100;
/** A status page stops before this many bytes of documents (always at least one document). */
export const STATUS_PAGE_MAX_BYTES = 10 * 1024 * 1024;

export function firecrawlRoutes(deps: ApiDeps): Router<AppState> {
  const { db, config } = deps;
  const submitter = new CrawlSubmitter(deps);
  const canceller = new CrawlCanceller(deps);
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
  const ownerOf = (ctx: Ctx): CrawlOwner => {
    const { project, env } = scopeOf(ctx);
    return { projectId: project.id, env };
  };

  const status = withInput(CrawlById, async (ctx, q) => {
    const crawl = await findCrawl(deps, ownerOf(ctx), q.id);
    const skip = q.skip ?? 0;
    const limit = q.limit ?? STATUS_PAGE_DEFAULT;
    // Sizes first, one more than the page: how many documents fit, and whether any follow.
    const sizes = await listCrawlDocumentSizes(db, crawl.id, skip, limit + 1);
    let n = 0;
    let bytes = 0;
    for (const size of sizes.slice(0, limit)) {
      // The first document is sent however large it is: a page is never empty.
      if (n > 0 && bytes + size > STATUS_PAGE_MAX_BYTES) break;
      bytes += size;
      n++;
    }
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
  });

  // 200 with the status after the call (an ended crawl's own: see CrawlCanceller).
  const cancel = withInput(CancelById, async (ctx, { id }) => {
    ctx.body = { success: true, status: await canceller.cancel(ownerOf(ctx), id) };
  });

  const crawl = (v: ApiVersion) =>
    withInput(CrawlBody(config, v), async (ctx, request) => {
      const { project, env } = scopeOf(ctx);
      const { id } = await submitter.submit({ project, env, request });
      ctx.body = { success: true, id, url: `${base(ctx)}/v${v}/crawl/${id}` };
    });

  const batch = (v: ApiVersion) =>
    withInput(BatchBody(config, v), async (ctx, request) => {
      const { project, env } = scopeOf(ctx);
      const { id } = await submitter.submit({ project, env, request });
      ctx.body = { success: true, id, url: `${base(ctx)}/v${v}/batch/scrape/${id}`, invalidURLs: request.invalidURLs };
    });

  for (const v of FIRECRAWL_VERSIONS) {
    const key = requireKey(db);
    r.post(`/v${v}/crawl`, key, crawl(v));
    r.get(`/v${v}/crawl/:id`, key, status);
    r.delete(`/v${v}/crawl/:id`, key, cancel);
    r.post(`/v${v}/batch/scrape`, key, batch(v));
    r.get(`/v${v}/batch/scrape/:id`, key, status);
    r.delete(`/v${v}/batch/scrape/:id`, key, cancel);
  }
  return r;
}
