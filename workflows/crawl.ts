import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  isCancellation,
  condition,
  continueAsNew,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
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
 *
 * A Scrapfly crawler may bound the crawl's time (`maxDurationMs`: once that
 * long has passed since its first run began, in workflow time, no page is
 * claimed, pages waiting for a slot give up, those in flight finish, and the
 * crawl ends with stop_reason max_duration) and space its fetches
 * (`delayMs`: a durable timer between one fetch and the next claim's fetch;
 * such a crawl fetches one page at a time). Both are input fields whose
 * absence leaves the commands as older histories recorded them; so is
 * `stopInFlight` (a crawler's cancel also cancels the page activities in
 * flight, so it ends within seconds even while a target is slow to answer).
 */
export async function crawlWorkflow(input: CrawlWorkflowInput): Promise<{ status: string }> {
  const carried = input.carried ?? { runs: 0, cancelled: false, seeded: false };
  // Workflow time (deterministic in workflow code): when the first run began, carried across continue-as-new.
  const startedAtMs = carried.startedAtMs ?? Date.now();
  const deadline = input.maxDurationMs === undefined ? null : startedAtMs + input.maxDurationMs;
  let timedOut = carried.timedOut ?? false;
  const outOfTime = () => (timedOut ||= deadline !== null && Date.now() >= deadline);
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
  // Pages in flight, by their scopes: a crawler's cancel stops them too (stopInFlight), rather than waiting out a slow target.
  const scopes = new Set<CancellationScope>();
  setHandler(cancelCrawlSignal, () => {
    cancelled = true;
    if (input.stopInFlight) for (const scope of scopes) scope.cancel();
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
        let out: Awaited<ReturnType<typeof pages.crawlPage>>;
        if (input.stopInFlight) {
          const scope = new CancellationScope();
          scopes.add(scope);
          try {
            out = await scope.run(() => pages.crawlPage({ crawlId: input.crawlId, pageId }));
          } finally {
            scopes.delete(scope);
          }
        } else {
          out = await pages.crawlPage({ crawlId: input.crawlId, pageId });
        }
        if (!out.queued) return;
        // Out of time, a page in line gives up: wake up no later than the deadline.
        const recheck = deadline === null ? input.slotRecheckMs : Math.max(1, Math.min(input.slotRecheckMs, deadline - Date.now()));
        await condition(() => grants > seen || cancelled, recheck);
        // Still in line when cancelled: the end of the crawl frees its place.
        if (cancelled || (deadline !== null && outOfTime())) return;
      }
    } catch (err) {
      // Stopped by the cancel: the page stays unfetched, and the end of the crawl settles it.
      if (input.stopInFlight && cancelled && isCancellation(err)) return;
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
    const stopped = cancelled || (deadline !== null && outOfTime());
    // Claim in batches (half the window, or whenever nothing runs): one claim per page would double the history.
    if (!stopped && !runFull && room > 0 && (inFlight.size === 0 || room >= Math.ceil(input.pageConcurrency / 2))) {
      // Never past the run's share of pages, so each run holds at most pagesPerRun.
      const max = Math.min(room, input.pagesPerRun - pagesThisRun - inFlight.size);
      const ids = await local.claimCrawlPages({ crawlId: input.crawlId, max, inFlight: [...inFlight] });
      // The pause between this fetch and the one before (this run's or an earlier run's).
      const delayMs = input.delayMs ?? 0;
      const paused = delayMs > 0 && ids.length > 0 && (pagesThisRun > 0 || carried.runs > 0);
      if (paused) await sleep(delayMs);
      // Cancelled or out of time during the pause: the claimed pages stay unfetched, and the end of the crawl settles them.
      for (const id of ids) if (!(paused && (cancelled || outOfTime()))) track(id);
    }
    if (inFlight.size === 0) {
      if (!cancelled && !timedOut && (runFull || workflowInfo().continueAsNewSuggested)) {
        const next = { runs: carried.runs + 1, cancelled, seeded: true, ...(deadline !== null ? { startedAtMs } : {}) };
        await continueAsNew<typeof crawlWorkflow>({ ...input, carried: next });
      }
      break;
    }
    const before = inFlight.size;
    await condition(() => inFlight.size < before || (cancelled && inFlight.size === 0) || failure !== null);
  }
  if (failure) throw failure;

  status = (await local.endCrawl(timedOut ? { crawlId: input.crawlId, timedOut } : { crawlId: input.crawlId })) as CrawlProgress['status'];
  upsertSearchAttributes([{ key: SA_JOB_STATUS, value: status }]);
  return { status };
}
