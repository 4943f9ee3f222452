import { randomBytes } from 'node:crypto';
import Router from '@koa/router';
import { CrawlCanceller } from '../../../commands/crawlCanceller';
import { CrawlSubmitter } from '../../../commands/crawlSubmitter';
import { canonicalUrl } from '../../../crawl/urls';
import { findCrawlerContents, listCrawlerContents, listCrawlerUrls, type CrawlerContent } from '../../../db/repositories/crawlerReads';
import { getCrawlInScope } from '../../../db/repositories/crawls';
import { concurrencyOf } from '../../../db/repositories/projects';
import type { Crawl } from '../../../db/rows';
import { crawlerState, crawlerStatus } from '../../../delivery/crawlerEvent';
import { AppError, ValidationError } from '../../../errors';
import type { CrawlerFormat } from '../../../shared/contracts/crawl';
import type { ApiDeps, AppState, Ctx } from '../../context';
import { requireKey, scopeOf } from '../../middleware/auth';
import { withInput } from '../../middleware/validate';
import { streamCrawlArtifact } from '../../../artifacts';
import {
  CrawlerArtifactQuery,
  CrawlerBatchInput,
  CrawlerBody,
  CrawlerByUuid,
  CrawlerContentsQuery,
  CrawlerUrlsQuery,
  crawlerRequest,
  readFormats,
} from './schema';

// Scrapfly's Crawler API (SPEC section 13) at the root, as scrapfly-sdk
// 0.11.1 calls it with its `host` option; docs/scrapfly-crawler-contract.md
// says what the SDK reads. A crawler is a crawls row of kind 'crawler' on
// the crawl engine. Errors leave through the one error middleware, which
// gives these paths ERR::CRAWLER::* codes (./paths.ts). No success body
// holds an `error_id` or `http_code` key: the SDK would take it for an error.

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The content type a format's content is served with (plain mode, and each part of a batch). */
export const FORMAT_TYPES: Record<CrawlerFormat, string> = {
  html: 'text/html; charset=utf-8',
  clean_html: 'text/html; charset=utf-8',
  markdown: 'text/markdown; charset=utf-8',
  text: 'text/plain; charset=utf-8',
  json: 'application/json; charset=utf-8',
  page_metadata: 'application/json; charset=utf-8',
};

const clip = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}…` : s);

export function crawlerRoutes(deps: ApiDeps): Router<AppState> {
  const { db, config } = deps;
  const submitter = new CrawlSubmitter(deps);
  const canceller = new CrawlCanceller(deps);
  const r = new Router<AppState>({ sensitive: true });
  const key = requireKey(db);

  // Where links point: PUBLIC_URL when set, else this request's own scheme
  // and host (as the Firecrawl routes do; not ctx.origin, the Origin header in Koa 3).
  const base = (ctx: Ctx) => (config.publicUrlSet ? config.publicUrl : `${ctx.protocol}://${ctx.host}`);

  /** The caller's crawler, else 404 ERR::CRAWLER::NOT_FOUND: another tenant's, or a Firecrawl crawl's id, reads as unknown. */
  const findCrawler = async (ctx: Ctx, uuid: string): Promise<Crawl> => {
    const { project, env } = scopeOf(ctx);
    const crawl = UUID.test(uuid) ? await getCrawlInScope(db, uuid.toLowerCase(), project.id, env) : null;
    if (!crawl || crawl.kind !== 'crawler') {
      throw new AppError('ERR::CRAWLER::NOT_FOUND', `no crawler with uuid "${clip(uuid)}" in this project and environment`);
    }
    return crawl;
  };

  const formatsOf = (crawl: Crawl, asked: string | string[] | undefined): CrawlerFormat[] => {
    const out = readFormats(asked, crawl.options.crawler?.formats ?? []);
    if (typeof out === 'string') throw new ValidationError(`formats: ${out}`);
    return out;
  };

  /** Each URL asked for, with its visited page (exact spelling first, then canonical form), if any. */
  const pagesFor = async (crawl: Crawl, urls: string[], formats: CrawlerFormat[]) => {
    const asked = urls.map((url) => ({ url, canonical: canonicalUrl(url, undefined, { ignoreQuery: crawl.options.ignoreQueryParameters }) }));
    const rows = await findCrawlerContents(db, crawl.id, asked, formats);
    const byUrl = new Map(rows.map((p) => [p.url, p]));
    const byCanonical = new Map(rows.map((p) => [p.canonical, p]));
    return asked.map((a) => ({ url: a.url, page: byUrl.get(a.url) ?? (a.canonical === null ? undefined : byCanonical.get(a.canonical)) }));
  };
  const pageFor = async (crawl: Crawl, url: string, formats: CrawlerFormat[]) => (await pagesFor(crawl, [url], formats))[0]?.page;

  /** A page's content as Scrapfly's `{format: string}`, only the formats it has. */
  const contentOf = (page: CrawlerContent, formats: CrawlerFormat[]): Record<string, string> => {
    const out: Record<string, string> = {};
    formats.forEach((f, i) => {
      const c = page.content[i];
      if (typeof c === 'string') out[f] = c;
    });
    return out;
  };

  // 201 {crawler_uuid, uuid, status}: the SDK reads either id; Scrapfly's docs show uuid.
  r.post(
    '/crawl',
    key,
    withInput(CrawlerBody(config), async (ctx, spec) => {
      const { project, env } = scopeOf(ctx);
      const request = crawlerRequest(spec, {
        projectName: project.name,
        apiBase: base(ctx),
        concurrencyCap: Math.min(concurrencyOf(project), config.crawl.pageConcurrency),
      });
      const { id } = await submitter.submit({ project, env, request });
      ctx.status = 201;
      ctx.body = { crawler_uuid: id, uuid: id, status: 'PENDING' };
    }),
  );

  // The SDK parses this strictly: seven numbers from the first answer on, a boolean is_finished.
  r.get(
    '/crawl/:uuid/status',
    key,
    withInput(CrawlerByUuid, async (ctx, { uuid }) => {
      const crawl = await findCrawler(ctx, uuid);
      const state = crawlerState(crawl, new Date());
      // A cancel is final at once (crawlerStatus says CANCELLED); its reason is known before the workflow stores it.
      if (crawl.status === 'cancelled' && state.stop_reason === null) state.stop_reason = 'user_cancelled';
      ctx.body = { crawler_uuid: crawl.id, ...crawlerStatus(crawl), state };
    }),
  );

  // text/plain, a URL a line (`url,reason` for failed and skipped); past the last page, an empty 200.
  r.get(
    '/crawl/:uuid/urls',
    key,
    withInput(CrawlerUrlsQuery, async (ctx, q) => {
      const crawl = await findCrawler(ctx, q.uuid);
      const urls = await listCrawlerUrls(db, crawl.id, q.status, (q.page - 1) * q.per_page, q.per_page);
      ctx.type = 'text/plain; charset=utf-8';
      ctx.body = urls
        .map((u) =>
          // The SDK splits a line at its first comma: a URL's own commas go percent-encoded, and a reason stays on its line.
          u.reason === null ? `${u.url}\n` : `${u.url.replaceAll(',', '%2C')},${u.reason.replace(/[\r\n]+/g, ' ')}\n`,
        )
        .join('');
    }),
  );

  r.get(
    '/crawl/:uuid/contents',
    key,
    withInput(CrawlerContentsQuery, async (ctx, q) => {
      const crawl = await findCrawler(ctx, q.uuid);
      const formats = formatsOf(crawl, q.formats ?? q.format);
      const crawledUrls = `${base(ctx)}/crawl/${crawl.id}/urls`;
      const noContent = (url: string) =>
        new AppError('ERR::CRAWLER::NOT_FOUND', `crawler ${crawl.id} has no ${formats.join(', ')} content for ${clip(url)}`);

      if (q.plain) {
        // The raw content with its format's type; a miss is a JSON 404, which Crawl.read() turns into null.
        if (q.url === undefined) throw new ValidationError('url: is required with plain=true');
        const [format] = formats;
        if (format === undefined || formats.length > 1) throw new ValidationError('formats: plain=true returns one format; name exactly one');
        const content = (await pageFor(crawl, q.url, formats))?.content[0];
        if (typeof content !== 'string') throw noContent(q.url);
        ctx.type = FORMAT_TYPES[format];
        ctx.body = content;
        return;
      }

      if (q.url !== undefined) {
        const page = await pageFor(crawl, q.url, formats);
        if (!page) throw noContent(q.url);
        // Keyed by the URL as the caller wrote it, so it finds its own key.
        ctx.body = { contents: { [q.url]: contentOf(page, formats) }, links: { crawled_urls: crawledUrls, next: null, prev: null } };
        return;
      }

      const rows = await listCrawlerContents(db, crawl.id, formats, q.offset, q.limit + 1);
      const contents: Record<string, Record<string, string>> = {};
      for (const page of rows.slice(0, q.limit)) contents[page.url] = contentOf(page, formats);
      const at = (offset: number) =>
        `${base(ctx)}/crawl/${crawl.id}/contents?formats=${encodeURIComponent(formats.join(','))}&offset=${offset}&limit=${q.limit}`;
      ctx.body = {
        contents,
        links: {
          crawled_urls: crawledUrls,
          next: rows.length > q.limit ? at(q.offset + q.limit) : null,
          prev: q.offset > 0 ? at(Math.max(0, q.offset - q.limit)) : null,
        },
      };
    }),
  );

  // multipart/related, a part per (URL, format) found, each keyed by the URL exactly as the client sent it.
  r.post(
    '/crawl/:uuid/contents/batch',
    key,
    withInput(CrawlerBatchInput, async (ctx, input) => {
      const crawl = await findCrawler(ctx, input.uuid);
      const formats = formatsOf(crawl, input.formats);
      const parts: Array<{ url: string; format: CrawlerFormat; content: string }> = [];
      let found = 0;
      for (const { url, page } of await pagesFor(crawl, input.urls, formats)) {
        if (!page) continue;
        found++;
        formats.forEach((format, i) => {
          const content = page.content[i];
          if (typeof content === 'string') parts.push({ url, format, content });
        });
      }
      // The SDK splits the body on the boundary as text: it must occur in no content.
      let boundary: string;
      do boundary = `hookshot-${randomBytes(16).toString('hex')}`;
      while (parts.some((p) => p.content.includes(boundary)));
      const body =
        parts.map((p) => `--${boundary}\r\nContent-Type: ${FORMAT_TYPES[p.format]}\r\nContent-Location: ${p.url}\r\n\r\n${p.content}\r\n`).join('') +
        `--${boundary}--\r\n`;
      ctx.set('Content-Type', `multipart/related; boundary=${boundary}`);
      ctx.set('X-Scrapfly-Requested-URLs', String(input.urls.length));
      ctx.set('X-Scrapfly-Found-URLs', String(found));
      ctx.body = body;
    }),
  );

  // Built from what the crawler stored, streamed a page of captures at a
  // time. Only once it has ended: before, the file would be missing pages.
  r.get(
    '/crawl/:uuid/artifact',
    key,
    withInput(CrawlerArtifactQuery, async (ctx, q) => {
      const crawl = await findCrawler(ctx, q.uuid);
      const type = q.type ?? 'warc';
      if (type !== 'warc' && type !== 'har') {
        throw new AppError('ERR::CRAWLER::CONFIG_ERROR', `type: must be warc or har, got "${clip(type)}"`);
      }
      if (!crawl.completed_at) {
        throw new AppError('ERR::CRAWLER::NOT_FINISHED', `crawler ${crawl.id} has not finished; its artifacts are built once it has`);
      }
      const artifact = streamCrawlArtifact(db, crawl.id, type);
      ctx.status = 200;
      // The WARC is gzip as a file, not as a transfer: no Content-Encoding, or clients would inflate it.
      ctx.type = artifact.contentType;
      ctx.set('Content-Disposition', `attachment; filename="${artifact.filename}"`);
      ctx.set('Cache-Control', 'private, max-age=3600, immutable');
      ctx.body = artifact.stream;
    }),
  );

  // Idempotent: an ended crawler answers 200 with how it ended. The SDK returns response.ok.
  r.post(
    '/crawl/:uuid/cancel',
    key,
    withInput(CrawlerByUuid, async (ctx, { uuid }) => {
      const { project, env } = scopeOf(ctx);
      const crawl = await findCrawler(ctx, uuid);
      await canceller.cancel({ projectId: project.id, env }, crawl.id);
      const after = await findCrawler(ctx, crawl.id);
      ctx.body = { crawler_uuid: after.id, status: crawlerStatus(after).status };
    }),
  );

  return r;
}
