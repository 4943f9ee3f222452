import { proxyActivities, proxyLocalActivities, setHandler } from '@temporalio/workflow';
import type { EventActivities } from '../activities/events';
import type { EventAttemptOutcome, EventDeliveryWorkflowInput } from '../src/shared/contracts/crawl';
import { wakeJobSignal } from '../src/shared/workflowApi';
import { deliverWithLadder } from './ladder';

/**
 * The retries of one event (event:<uuid>) after its first attempt failed in
 * crawlEventsWorkflow: the same ladder as a job's, from the second attempt
 * on. An inline (Firecrawl) event has no entity and no auto-disable: its URL
 * is one-off. A crawler's event goes to a named webhook: its attempts report
 * to the webhook's entity, and a disable ends the series (`stop`), at once
 * when the entity wakes this workflow from a wait. A bulk replay starts it
 * again with a new `series`, from attempt 1.
 */
export async function eventDeliveryWorkflow(
  input: EventDeliveryWorkflowInput,
): Promise<{ delivered: boolean; attempts: number; stopped?: EventAttemptOutcome['stop'] }> {
  const act = proxyActivities<EventActivities>({
    startToCloseTimeout: input.deliveryTimeoutMs + 30_000,
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  });
  // A wake (the webhook was disabled) cuts the wait short; the next attempt then stops.
  let woken = false;
  setHandler(wakeJobSignal, () => {
    woken = true;
  });
  const series = input.series ?? 0;
  if (input.series !== undefined) {
    const local = proxyLocalActivities<EventActivities>({
      startToCloseTimeout: '30 seconds',
      retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 },
    });
    await local.beginEventSeries({ eventId: input.eventId });
  }
  const { outcome, attempt } = await deliverWithLadder<EventAttemptOutcome>({
    scheduleMs: input.retryScheduleMs,
    jitter: input.retryJitter,
    firstAttempt: input.failedAttempt + 1,
    waitFirst: { retryAfterMs: input.retryAfterMs },
    attempt: (attempt, willRetry) => {
      woken = false;
      return act.deliverEvent({ eventId: input.eventId, series, attempt, willRetry });
    },
    interrupt: () => woken,
  });
  const stopped = outcome?.stop ?? null;
  return { delivered: outcome?.success === true, attempts: attempt, ...(stopped ? { stopped } : {}) };
}
