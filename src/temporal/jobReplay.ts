import { WorkflowIdReusePolicy } from '@temporalio/client';
import type { Config } from '../config';
import type { Job } from '../db/rows';
import { JOB_TRANSITIONS } from '../shared/jobStatus';
import { jobWorkflowId } from '../shared/names';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME, SA_WEBHOOK_NAME } from '../shared/searchAttributes';
import { replayJobSignal } from '../shared/workflowApi';
import type { WorkflowStarter } from './client';
import { buildJobWorkflowInput } from './jobInput';

/**
 * Delivers a job again: signal-with-start on job:<uuid>. A running workflow
 * gets the signal (a waiting ladder is cut short); a closed one is started
 * again in replay mode. Either way the workflow marks the job pending when
 * the new series begins (it is the one writer of the job's status), the
 * signal shows in its history, and replayId makes a repeated request harmless.
 *
 * No rules here: the replay command (src/commands/jobReplayer.ts) decides
 * whether a job may be replayed; the webhook entity's bulk replay pages only
 * jobs whose delivery failed.
 */
export async function replayJob(
  client: WorkflowStarter,
  settings: Pick<Config, 'webhook' | 'scrape' | 'temporal'>,
  job: Pick<Job, 'id' | 'kind' | 'webhook_id' | 'webhook_name'>,
  projectName: string,
  replayId: string,
): Promise<void> {
  await client.workflow.signalWithStart('jobWorkflow', {
    workflowId: jobWorkflowId(job.id),
    taskQueue: settings.temporal.taskQueue,
    args: [
      buildJobWorkflowInput(settings, {
        jobId: job.id,
        kind: job.kind,
        deliver: true,
        webhookId: job.webhook_id,
        captureLocal: false,
        mode: 'replay',
      }),
    ],
    signal: replayJobSignal,
    signalArgs: [{ replayId }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    typedSearchAttributes: [
      { key: SA_PROJECT_NAME, value: projectName },
      // A closed job's new run shows the step its series begins with.
      { key: SA_JOB_STATUS, value: JOB_TRANSITIONS.seriesBegun.to },
      { key: SA_JOB_KIND, value: job.kind },
      ...(job.webhook_name ? [{ key: SA_WEBHOOK_NAME, value: job.webhook_name }] : []),
    ],
  });
}
