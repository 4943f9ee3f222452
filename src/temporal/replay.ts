import { randomUUID } from 'node:crypto';
import { WorkflowIdReusePolicy, type Client } from '@temporalio/client';
import type { Db } from '../db/pool';
import type { Job } from '../db/repositories/jobs';
import { jobWorkflowId } from '../shared/names';
import type { Config } from '../config';
import { buildJobWorkflowInput } from './jobInput';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME, SA_WEBHOOK_NAME } from '../shared/searchAttributes';
import { replayJobSignal } from '../shared/workflowApi';

export type ReplaySettings = Pick<Config, 'webhook' | 'scrape' | 'temporal'>;

/**
 * Delivers a job again: marks it pending, then signal-with-start on job:<uuid>.
 * A running workflow gets the signal (a waiting ladder is cut short); a closed
 * one is started again in replay mode. Either way the signal shows in the
 * workflow's history, and replayId makes a repeated request harmless.
 */
export async function replayJob(
  client: Client,
  db: Db,
  settings: ReplaySettings,
  job: Pick<Job, 'id' | 'kind' | 'webhook_id' | 'webhook_name'>,
  projectName: string,
  replayId: string = randomUUID(),
): Promise<string> {
  const { rows } = await db.query<{ status: string; delivery_status: string | null; error_code: string | null; error_message: string | null }>(
    `UPDATE jobs j SET status = 'delivering', delivery_status = 'pending',
            error_code = CASE WHEN j.error_code LIKE 'ERR::WEBHOOK::%' THEN NULL ELSE j.error_code END,
            error_message = CASE WHEN j.error_code LIKE 'ERR::WEBHOOK::%' THEN NULL ELSE j.error_message END,
            completed_at = NULL, updated_at = now()
       FROM jobs old WHERE j.id = $1 AND old.id = j.id
     RETURNING old.status, old.delivery_status, old.error_code, old.error_message`,
    [job.id],
  );
  const before = rows[0];
  const input = buildJobWorkflowInput(settings, { jobId: job.id, kind: job.kind, deliver: true, webhookId: job.webhook_id, captureLocal: false, mode: 'replay' });
  try {
    await client.workflow.signalWithStart('jobWorkflow', {
      workflowId: jobWorkflowId(job.id),
      taskQueue: settings.temporal.taskQueue,
      args: [input],
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
  } catch (err) {
    // Temporal did not take it: put the job back as it was, so nothing claims a replay that never ran.
    if (before) {
      await db.query(
        `UPDATE jobs SET status = $2, delivery_status = $3, error_code = $4, error_message = $5, updated_at = now() WHERE id = $1`,
        [job.id, before.status, before.delivery_status, before.error_code, before.error_message],
      );
    }
    throw err;
  }
  return replayId;
}
