import { randomUUID } from 'node:crypto';
import { ServiceError, WorkflowIdConflictPolicy, WorkflowNotFoundError, type Client } from '@temporalio/client';
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

/**
 * The server refuses an update that arrives while the entity's workflow task
 * fails (it tried to continue as new while more signals came in: the task
 * is retried with them) or while one run hands over to the next. Both are
 * over in moments; the same update id is sent again, so an update the
 * server did take is answered from its record, never applied twice.
 */
const isHandOverRace = (err: unknown): boolean => {
  if (err instanceof WorkflowNotFoundError) return true;
  const grpc = (err as { cause?: { code?: number } }).cause;
  return err instanceof ServiceError && grpc?.code === GRPC_FAILED_PRECONDITION;
};
const HAND_OVER_TRIES = 6;
const GRPC_FAILED_PRECONDITION = 9;

/** Enable or disable through the entity (the one writer); resolves once stored. */
export async function setWebhookStatus(
  client: Client,
  jobTaskQueue: string,
  webhookId: string,
  disableAfter: number,
  change: SetWebhookStatus,
): Promise<WebhookEntityState> {
  const updateId = randomUUID();
  for (let attempt = 1; ; attempt++) {
    try {
      await ensureWebhookEntity(client, jobTaskQueue, webhookId, disableAfter);
      // A handle by workflow id alone: the start handle is bound to one run, and
      // the entity may have continued as new since.
      return await client.workflow.getHandle(webhookWorkflowId(webhookId)).executeUpdate(setWebhookStatusUpdate, { args: [change], updateId });
    } catch (err) {
      if (attempt >= HAND_OVER_TRIES || !isHandOverRace(err)) throw err;
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
    }
  }
}
