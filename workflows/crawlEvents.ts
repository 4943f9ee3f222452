import { condition, continueAsNew, proxyActivities, proxyLocalActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { EventActivities } from '../activities/events';
import type { CrawlEventsWorkflowInput } from '../src/shared/contracts/crawl';
import { eventsAppendedSignal } from '../src/shared/workflowApi';

const retry = { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 } as const;
const PAGE = 100;
// Signals only say "there is more"; the truth is in PostgreSQL. A run that
// has taken this many continues as new, so no run's history grows without bound.
const SIGNALS_PER_RUN = 1000;
// Re-reads the newest seq now and then in case a signal was lost.
const RECHECK_MS = 60_000;

// Firecrawl's names (crawl.started…) and Scrapfly's crawler names: started
// first, the terminal event last, page and URL events between.
const isTerminal = (event: string) => /\.(completed|failed)$/.test(event) || /^crawler_(finished|stopped|cancelled)$/.test(event);
const isOrderingPoint = (event: string) => /\.started$/.test(event) || event === 'crawler_started' || isTerminal(event);

/**
 * Sends one crawl's events in order without holding up the crawl (which
 * only stores them and signals). The first attempt of `started` finishes
 * before any page event is sent; page events go out with bounded
 * concurrency; the terminal event is sent only after every page event's
 * first attempt finished. A failed first attempt hands the event's retries to
 * its own eventDeliveryWorkflow, so later events never wait on a ladder.
 */
export async function crawlEventsWorkflow(input: CrawlEventsWorkflowInput): Promise<{ sent: number }> {
  const local = proxyLocalActivities<EventActivities>({ startToCloseTimeout: '30 seconds', retry });
  const act = proxyActivities<EventActivities>({
    startToCloseTimeout: input.deliveryTimeoutMs + 30_000,
    heartbeatTimeout: '10s',
    retry,
  });

  let known = input.knownUpTo ?? -1;
  let signals = 0;
  setHandler(eventsAppendedSignal, ({ upTo }) => {
    signals++;
    if (upTo > known) known = upTo;
  });
  if (input.knownUpTo === undefined) known = Math.max(known, await local.lastEventSeq({ crawlId: input.crawlId }));

  let next = input.nextSeq ?? 0;
  let handled = 0;
  let inFlight = 0;
  const first = async (eventId: string) => {
    inFlight++;
    try {
      await act.deliverEvent({
        eventId,
        series: 0,
        attempt: 1,
        willRetry: input.retryScheduleMs.length > 0,
        startRetries: { retryScheduleMs: input.retryScheduleMs, retryJitter: input.retryJitter, deliveryTimeoutMs: input.deliveryTimeoutMs },
      });
    } catch {
      // Only a missing event (its crawl deleted) fails for good: nothing to send.
    } finally {
      inFlight--;
    }
  };
  const drain = () => condition(() => inFlight === 0);

  for (;;) {
    if (known < next) {
      const timedOut = !(await condition(() => known >= next, RECHECK_MS));
      if (timedOut) known = Math.max(known, await local.lastEventSeq({ crawlId: input.crawlId }));
      continue;
    }
    const batch = await local.listCrawlEvents({ crawlId: input.crawlId, fromSeq: next, limit: PAGE });
    if (batch.length === 0) {
      // A seq was announced before its transaction was visible here: look again shortly.
      await condition(() => false, 1000);
      continue;
    }
    for (const e of batch) {
      if (e.seq !== next) break; // a gap: wait for the missing seq to commit
      next = e.seq + 1;
      handled++;
      if (e.first_done) continue; // handled by an earlier run (or an earlier try)
      if (isOrderingPoint(e.event)) {
        await drain();
        await first(e.id);
        if (isTerminal(e.event)) return { sent: handled };
      } else {
        await condition(() => inFlight < input.concurrency);
        void first(e.id);
      }
    }
    if (handled >= input.eventsPerRun || signals >= SIGNALS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await drain();
      await continueAsNew<typeof crawlEventsWorkflow>({ ...input, nextSeq: next, knownUpTo: known });
    }
  }
}
