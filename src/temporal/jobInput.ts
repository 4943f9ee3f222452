import type { Config } from '../config';
import type { JobKind } from '../shared/names';
import type { JobWorkflowInput } from '../shared/contracts/job';

/** A capture slot's lease lives as long as the capture activity may run; only a vanished holder outlives it. */
export const captureLeaseTtlMs = (config: Pick<Config, 'scrape'>) => config.scrape.timeoutMs + 30_000;

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
    slotRecheckMs: Math.round(captureLeaseTtlMs(config) / 2),
    retryScheduleMs: config.webhook.retryScheduleMs,
    retryJitter: config.webhook.retryJitter,
    deliveryTimeoutMs: config.webhook.timeoutMs,
    deliveryLocal: true,
  };
}
