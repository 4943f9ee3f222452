// Names shared by the API, the worker and workflow code. No Node imports:
// workflow code bundles this file.

export const DEFAULT_TASK_QUEUE = 'hookshot-jobs';
/**
 * Webhook entities (and their activities) poll a queue of their own, so a
 * flood of job tasks never delays the count, the disable or its storage.
 */
export const webhookTaskQueue = (jobTaskQueue: string) => `${jobTaskQueue}-webhooks`;

export const jobWorkflowId = (jobUuid: string) => `job:${jobUuid}`;
export const webhookWorkflowId = (webhookUuid: string) => `webhook:${webhookUuid}`;
/** A bulk replay or stop run for one webhook; the request id makes a repeat start nothing new. */
export const webhookFanoutWorkflowId = (webhookUuid: string, action: string, requestId: string) =>
  `webhook:${webhookUuid}:${action}:${requestId}`;

/** Custom search attributes registered on the namespace (all Keyword). */
export const SEARCH_ATTRIBUTES = {
  webhookName: 'WebhookName',
  projectName: 'ProjectName',
  jobStatus: 'JobStatus',
  jobKind: 'JobKind',
} as const;

// `done`: a synchronous job answered its caller; `delivered`/`failed`: a webhook job's end.
export const JOB_STATUSES = ['queued', 'running', 'delivering', 'retrying', 'delivered', 'done', 'failed'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export type JobKind = 'scrape' | 'screenshot';
