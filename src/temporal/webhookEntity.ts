import { WorkflowIdConflictPolicy, type Client } from '@temporalio/client';
import { webhookTaskQueue, webhookWorkflowId } from '../shared/names';
import { setWebhookStatusUpdate, type SetWebhookStatus, type WebhookEntityState } from '../shared/workflowApi';

/** Starts webhook:<uuid> unless it runs already (on the webhook queue beside the job queue given), and returns its handle. */
export async function ensureWebhookEntity(client: Client, jobTaskQueue: string, webhookId: string, disableAfter: number) {
  const handle = await client.workflow.start('webhookWorkflow', {
    workflowId: webhookWorkflowId(webhookId),
    taskQueue: webhookTaskQueue(jobTaskQueue),
    args: [{ webhookId, disableAfter }],
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
  });
  return handle;
}

/** Enable or disable through the entity (the one writer); resolves once stored. */
export async function setWebhookStatus(
  client: Client,
  jobTaskQueue: string,
  webhookId: string,
  disableAfter: number,
  change: SetWebhookStatus,
): Promise<WebhookEntityState> {
  await ensureWebhookEntity(client, jobTaskQueue, webhookId, disableAfter);
  // A handle by workflow id alone: the start handle is bound to one run, and
  // the entity may have continued as new since.
  return client.workflow.getHandle(webhookWorkflowId(webhookId)).executeUpdate(setWebhookStatusUpdate, { args: [change] });
}
