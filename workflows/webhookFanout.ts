import { proxyActivities } from '@temporalio/workflow';
import type { WebhookActivities } from '../activities/webhook';
import type { WebhookFanoutInput } from '../src/shared/contracts/webhook';

/**
 * Signals many jobs of one webhook, on behalf of its entity: a bulk replay
 * of every failed delivery, or a wake of every job waiting on the ladder
 * after a disable. A child of the entity so the entity's loop (and the
 * disable it may have to store) never waits behind thousands of signals.
 * The activity pages through the jobs and heartbeats its cursor, so a retry
 * resumes where the last try stopped; history stays a handful of events.
 */
export async function webhookFanoutWorkflow(input: WebhookFanoutInput): Promise<number> {
  const { signalWebhookJobs } = proxyActivities<WebhookActivities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '1 minute',
    retry: { initialInterval: '1s', maximumInterval: '30s', backoffCoefficient: 2 },
  });
  return signalWebhookJobs(input);
}
