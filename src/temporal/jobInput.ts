import type { Config } from '../config';
import type { JobKind } from '../shared/names';
import type { JobWorkflowInput } from '../shared/jobTypes';

/**
 * The job workflow's input, from the job and the process configuration. The
 * one place that turns settings into workflow data, so the API (new jobs)
 * and replays start workflows alike.
 */
export function buildJobWorkflowInput(
  config: Pick<Config, 'webhook' | 'scrape'>,
  job: { jobId: string; kind: JobKind; webhookId: string | null; deliver: boolean; captureLocal: boolean; mode: 'new' | 'replay' },
): JobWorkflowInput {
  return {
    jobId: job.jobId,
    kind: job.kind,
    deliver: job.deliver,
    webhookId: job.webhookId,
    mode: job.mode,
    captureLocal: job.captureLocal,
    captureTimeoutMs: config.scrape.timeoutMs,
    retryScheduleMs: config.webhook.retryScheduleMs,
    retryJitter: config.webhook.retryJitter,
    deliveryTimeoutMs: config.webhook.timeoutMs,
  };
}
