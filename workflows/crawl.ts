import {
  ActivityFailure,
  ApplicationFailure,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { CrawlActivities } from '../activities/crawl';
import type { CrawlWorkflowInput } from '../src/shared/contracts/crawl';
import { SA_JOB_STATUS } from '../src/shared/searchAttributes';
import { cancelCrawlSignal, crawlProgressQuery, slotGrantedSignal, type CrawlProgress } from '../src/shared/workflowApi';

const retry = { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 } as const;
// Worker-side faults on one page (not the target's answers, which are results).
const PAGE_ATTEMPTS = 3;

/**
 * One crawl or batch scrape (crawl:<uuid>). The frontier and the pages are in
 * PostgreSQL; this workflow only decides what runs: it claims frontier pages
 * and fetches up to `pageConcurrency` at once, each holding one of the
 * project's capture slots (a page that finds none waits in line, woken by
 * slotGranted). It continues as new every `pagesPerRun` pages, so a
 * 10,000-page crawl keeps every history small. A cancel stops new fetches
 * at once; pages in flight finish. Events are stored by the activities and
 * sent by crawlEventsWorkflow, so a slow receiver never slows the crawl.
 */
export async function crawlWorkflow(input: CrawlWorkflowInput): Promise<{ status: string }> {
  const carried = input.carried ?? { runs: 0, cancelled: false, seeded: false };
  const local = proxyLocalActivities<CrawlActivities>({ startToCloseTimeout: '30 seconds', retry });
  const seed = proxyActivities<CrawlActivities>({
    startToCloseTimeout: '5 minutes',
    retry: { ...retry, maximumAttempts: 5, nonRetryableErrorTypes: ['CrawlNotFound'] },
  });
  const pages = proxyActivities<CrawlActivities>({
    startToCloseTimeout: input.captureTimeoutMs + 30_000,
    heartbeatTimeout: '30s',
    retry: { ...retry, maximumAttempts: PAGE_ATTEMPTS, nonRetryableErrorTypes: ['CrawlNotFound'] },
  });

  let cancelled = carried.cancelled;
  setHandler(cancelCrawlSignal, () => {
    cancelled = true;
  });
  // Every grant bumps the generation: each page waiting in line tries again.
  let grants = 0;
  setHandler(slotGrantedSignal, () => {
    grants++;
  });
  const inFlight = new Set<number>();
  let pagesThisRun = 0;
  let status: CrawlProgress['status'] = 'scraping';
  setHandler(crawlProgressQuery, () => ({ status, pagesInFlight: inFlight.size, pagesThisRun, runs: carried.runs + 1 }));

  if (!carried.seeded) await seed.seedCrawl({ crawlId: input.crawlId });

  const runPage = async (pageId: number) => {
    try {
      for (;;) {
        const seen = grants;
        const out = await pages.crawlPage({ crawlId: input.crawlId, pageId });
        if (!out.queued) return;
        await condition(() => grants > seen || cancelled, input.slotRecheckMs);
        // Still in line when cancelled: the end of the crawl frees its place.
        if (cancelled) return;
      }
    } catch (err) {
      const cause = err instanceof ActivityFailure && err.cause ? err.cause : err;
      if (cause instanceof ApplicationFailure && cause.type === 'CrawlNotFound') throw cause;
      await local.failCrawlPage({ crawlId: input.crawlId, pageId, error: cause instanceof Error ? cause.message : String(cause) });
    } finally {
      inFlight.delete(pageId);
      pagesThisRun++;
    }
  };

  let failure: unknown = null;
  const track = (pageId: number) => {
    inFlight.add(pageId);
    runPage(pageId).catch((err) => {
      failure = err;
    });
  };

  for (;;) {
    if (failure) throw failure;
    const room = input.pageConcurrency - inFlight.size;
    const runFull = pagesThisRun + inFlight.size >= input.pagesPerRun;
    // Claim in batches (half the window, or whenever nothing runs): one claim per page would double the history.
    if (!cancelled && !runFull && room > 0 && (inFlight.size === 0 || room >= Math.ceil(input.pageConcurrency / 2))) {
      // Never past the run's share of pages, so each run holds at most pagesPerRun.
      const max = Math.min(room, input.pagesPerRun - pagesThisRun - inFlight.size);
      const ids = await local.claimCrawlPages({ crawlId: input.crawlId, max, inFlight: [...inFlight] });
      for (const id of ids) track(id);
    }
    if (inFlight.size === 0) {
      if (!cancelled && (runFull || workflowInfo().continueAsNewSuggested)) {
        await continueAsNew<typeof crawlWorkflow>({ ...input, carried: { runs: carried.runs + 1, cancelled, seeded: true } });
      }
      break;
    }
    const before = inFlight.size;
    await condition(() => inFlight.size < before || (cancelled && inFlight.size === 0) || failure !== null);
  }
  if (failure) throw failure;

  status = (await local.endCrawl({ crawlId: input.crawlId })) as CrawlProgress['status'];
  upsertSearchAttributes([{ key: SA_JOB_STATUS, value: status }]);
  return { status };
}
