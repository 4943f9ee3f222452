import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { Config } from '../config';
import type { Job } from '../db/repositories/jobs';
import { jobWorkflowId } from '../shared/names';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME, SA_WEBHOOK_NAME } from '../shared/searchAttributes';
import { replayJobSignal } from '../shared/workflowApi';
import type { WorkflowStarter } from '../temporal/client';
import { buildJobWorkflowInput } from '../temporal/jobInput';


/**
 * Delivers a job again: signal-with-start on job:<uuid>. A running workflow
 * gets the signal (a waiting ladder is cut short); a closed one is started
 * again in replay mode. Either way the workflow marks the job pending when
 * the new series begins (it is the one writer of the job's status), the
 * signal shows in its history, and replayId makes a repeated request harmless.
 */
export async function replayJob(
  client: WorkflowStarter,
  settings: Pick<Config, 'webhook' | 'scrape' | 'temporal'>,
  job: Pick<Job, 'id' | 'kind' | 'webhook_id' | 'webhook_name'>,
  projectName: string,
  replayId: string = randomUUID(),
): Promise<string> {
  await client.workflow.signalWithStart('jobWorkflow', {
    workflowId: jobWorkflowId(job.id),
    taskQueue: settings.temporal.taskQueue,
    args: [buildJobWorkflowInput(settings, { jobId: job.id, kind: job.kind, deliver: true, webhookId: job.webhook_id, captureLocal: false, mode: 'replay' })],
    signal: replayJobSignal,
    signalArgs: [{ replayId }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [
      { key: SA_PROJECT_NAME, value: projectName },
      { key: SA_JOB_STATUS, value: 'delivering' },
      { key: SA_JOB_KIND, value: job.kind },
      ...(job.webhook_name ? [{ key: SA_WEBHOOK_NAME, value: job.webhook_name }] : []),
    ],
  });
  return replayId;
}
