import type Router from '@koa/router';
import type { AppState } from '../../context';
import { AppError } from '../../../errors';
import { getCrawlInScope } from '../../../db/repositories/crawls';
import { crawlPageCounts, pageCrawlEvents, pageCrawlPages, pageCrawls } from '../../../db/repositories/dashboard';
import { crawlListPage, crawlPage } from '../../../web/pages/crawls';
import { sendPage, sessionOf, type DashboardDeps, type DashboardGuards } from './dashboard';
import { intParam, UUID_RE } from './flash';

const PAGE = 25;
const EVENTS = 20;

/** Crawls and batch scrapes: the list, and one with its pages and events. */
export function mountCrawlPages(r: Router<AppState>, deps: DashboardDeps, g: DashboardGuards): void {
  const { db } = deps;

  r.get('/dashboard/crawls', g.signedIn, async (ctx) => {
    const s = sessionOf(ctx);
    const before = typeof ctx.query.before === 'string' && UUID_RE.test(ctx.query.before) ? ctx.query.before : null;
    const { rows, more } = await pageCrawls(db, s.project.id, s.env, { before, limit: PAGE });
    const last = rows.at(-1);
    sendPage(
      ctx,
      crawlListPage({
        session: s,
        rows,
        older: more && last ? `/dashboard/crawls?before=${last.id}` : null,
        newer: before ? '/dashboard/crawls' : null,
      }),
    );
  });

  r.get('/dashboard/crawls/:id', g.signedIn, async (ctx) => {
    const s = sessionOf(ctx);
    const id = ctx.params.id;
    const crawl = UUID_RE.test(id) ? await getCrawlInScope(db, id, s.project.id, s.env) : null;
    if (!crawl) throw new AppError('ERR::CRAWL::NOT_FOUND', `crawl ${id} does not exist in this project and environment`);
    // Two independent pagers on one page: each keeps the other's place.
    const pagesAfter = intParam(ctx.query.pages_after, null, 0, Number.MAX_SAFE_INTEGER);
    const eventsAfter = intParam(ctx.query.events_after, null, 0, 2 ** 31 - 1);
    const limit = intParam(ctx.query.limit, PAGE, 1, 200);
    const [pages, events, counts] = await Promise.all([
      pageCrawlPages(db, crawl.id, { after: pagesAfter, limit }),
      pageCrawlEvents(db, crawl.id, { after: eventsAfter, limit: EVENTS }),
      crawlPageCounts(db, crawl.id),
    ]);
    const lastPage = pages.rows.at(-1);
    const lastEvent = events.rows.at(-1);
    const base = `/dashboard/crawls/${crawl.id}`;
    const q = (p: number | null, e: number | null) => {
      const parts = [p !== null ? `pages_after=${p}` : '', e !== null ? `events_after=${e}` : '', limit !== PAGE ? `limit=${limit}` : ''].filter(
        Boolean,
      );
      return parts.length ? `${base}?${parts.join('&')}` : base;
    };
    sendPage(
      ctx,
      crawlPage({
        session: s,
        crawl,
        counts,
        pages: pages.rows,
        pagesNext: pages.more && lastPage ? `${q(lastPage.id, eventsAfter)}#pages` : null,
        pagesFirst: pagesAfter !== null ? `${q(null, eventsAfter)}#pages` : null,
        events: events.rows,
        eventsNext: events.more && lastEvent ? `${q(pagesAfter, lastEvent.seq)}#events` : null,
        eventsFirst: eventsAfter !== null ? `${q(pagesAfter, null)}#events` : null,
      }),
    );
  });
}
