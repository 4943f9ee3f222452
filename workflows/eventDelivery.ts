import { proxyActivities } from '@temporalio/workflow';
import type { EventActivities } from '../activities/events';
import type { EventAttemptOutcome, EventDeliveryWorkflowInput } from '../src/shared/contracts/crawl';
import { deliverWithLadder } from './ladder';

/**
 * The retries of one inline event (event:<uuid>) after its first attempt
 * failed in crawlEventsWorkflow: the same ladder as a named webhook's, from
 * the second attempt on. No entity and no auto-disable: these URLs are one-off.
 */
export async function eventDeliveryWorkflow(input: EventDeliveryWorkflowInput): Promise<{ delivered: boolean; attempts: number }> {
  const act = proxyActivities<EventActivities>({
    startToCloseTimeout: input.deliveryTimeoutMs + 30_000,
    heartbeatTimeout: '10s',
    retry: { initialInterval: '1s', maximumInterval: '1 minute', backoffCoefficient: 2 },
  });
  const { outcome, attempt } = await deliverWithLadder<EventAttemptOutcome>({
    scheduleMs: input.retryScheduleMs,
    jitter: input.retryJitter,
    firstAttempt: input.failedAttempt + 1,
    waitFirst: { retryAfterMs: input.retryAfterMs },
    attempt: (attempt, willRetry) => act.deliverEvent({ eventId: input.eventId, series: 0, attempt, willRetry }),
  });
  return { delivered: outcome?.success === true, attempts: attempt };
}
