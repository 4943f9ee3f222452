// Names shared by the API, the worker and workflow code. No Node imports:
// workflow code bundles this file.

export const DEFAULT_TASK_QUEUE = 'hookshot-jobs';

export const jobWorkflowId = (jobUuid: string) => `job:${jobUuid}`;
export const webhookWorkflowId = (webhookUuid: string) => `webhook:${webhookUuid}`;

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
