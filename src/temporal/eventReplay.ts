import { WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Config } from '../config';
import { eventDeliveryWorkflowId } from '../shared/names';
import type { WorkflowStarter } from './client';
import { eventDeliverySettings } from './crawlInput';

/**
 * Delivers a crawler event again (a webhook's bulk replay): a new run of
 * event:<uuid> with the next series, which marks the event pending and makes
 * attempt 1 itself, then climbs the ladder. The earlier run has ended (the
 * event's delivery failed), so the id is reused; a run still going (a
 * repeated replay) keeps it, and this start is a no-op.
 */
export async function replayEvent(
  client: WorkflowStarter,
  settings: Pick<Config, 'webhook' | 'temporal'>,
  event: { id: string; next_series: number },
): Promise<void> {
  try {
    await client.workflow.start('eventDeliveryWorkflow', {
      workflowId: eventDeliveryWorkflowId(event.id),
      taskQueue: settings.temporal.taskQueue,
      args: [{ eventId: event.id, ...eventDeliverySettings(settings), failedAttempt: 0, retryAfterMs: null, series: event.next_series }],
      workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}
