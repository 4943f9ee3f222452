import { randomUUID } from 'node:crypto';
import { WorkflowFailedError, WorkflowIdReusePolicy, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Config } from '../config';
import { withTransaction, type Db, type DbClient } from '../db/pool';
import { claimIdempotencyKey, releaseIdempotencyKey, saveIdempotentResponse } from '../db/repositories/idempotency';
import { failUnstartedJob, getJob, getResult, insertJob } from '../db/repositories/jobs';
import { concurrencyOf, lockProject, QUEUE_LIMITS } from '../db/repositories/projects';
import { getWebhookByName } from '../db/repositories/webhooks';
import type { Env, IdempotencyHit, Job, JobResult, Project } from '../db/rows';
import { logUrl } from '../delivery/payload';
import { AppError, WebhookErrors } from '../errors';
import type { Logger } from '../logger';
import { INITIAL_JOB_STATUS } from '../shared/jobStatus';
import { jobWorkflowId, type JobKind } from '../shared/names';
import { SA_JOB_KIND, SA_JOB_STATUS, SA_PROJECT_NAME, SA_WEBHOOK_NAME } from '../shared/searchAttributes';
import { buildJobWorkflowInput } from '../temporal/jobInput';
import type { CaptureSlots } from '../concurrency/slots';
import {
  errorMessage as message,
  START_ATTEMPTS,
  START_PROBE_TIMEOUT_MS,
  START_RETRY_BASE_MS,
  START_TIMEOUT_MS,
  startFreshWorkflow,
  type StartOutcome,
} from './workflowStart';
import { insertJobWithinQueueLimit, QueueFullError } from './queueLimit';

export interface JobSubmission {
  project: Project;
  env: Env;
  kind: JobKind;
  /** The job's parameters as stored (url, format, …), without webhook_name. */
  params: Record<string, unknown>;
  /** With a webhook the job is enqueued; without, it runs while the caller waits. */
  webhookName: string | null;
  idempotency: { key: string; requestHash: string } | null;
}

/** The answer to the webhook case: Scrapfly's promise document. */
export interface JobPromise {
  job_uuid: string;
  log_uuid: string;
  log_url: string;
  success: true;
  webhook_enqueued: true;
  webhook_name: string;
  webhook_queue_limit: number;
  webhook_queued_element: number;
  webhook_uuid: string;
}

export type SubmitOutcome =
  /** The Idempotency-Key was used before with the same request: answer as the first time. */
  | { type: 'repeat'; hit: IdempotencyHit }
  | { type: 'enqueued'; jobId: string; promise: JobPromise }
  | { type: 'finished'; job: Job; result: JobResult | null };

export interface JobSubmitterDeps {
  db: Db;
  temporal: Client;
  /** publicUrl for the log_url it answers with; the rest builds the workflow's input. */
  config: Pick<Config, 'publicUrl' | 'temporal' | 'webhook' | 'scrape'>;
  logger: Logger;
  /** A synchronous job takes its capture slot here; a webhook job its place in line. */
  slots: Pick<CaptureSlots, 'acquire' | 'enqueue' | 'release'>;
}

/**
 * Submits a job: claims the Idempotency-Key, writes the job row (within the
 * plan's queue limit for webhook jobs), starts its workflow job:<uuid> and,
 * for a synchronous job, waits for it.
 *
 * A row is never deleted once written: a start whose answer was lost may
 * have landed, and the workflow it started needs the row. The start is
 * idempotent (REJECT_DUPLICATE on a fresh id), so an unclear start is tried
 * again; only a start known not to have landed fails the job.
 */
export class JobSubmitter {
  static readonly START_ATTEMPTS = START_ATTEMPTS;
  static readonly RETRY_BASE_MS = START_RETRY_BASE_MS;
  static readonly PROBE_TIMEOUT_MS = START_PROBE_TIMEOUT_MS;
  static readonly START_TIMEOUT_MS = START_TIMEOUT_MS;

  constructor(private readonly deps: JobSubmitterDeps) {}

  async submit(s: JobSubmission): Promise<SubmitOutcome> {
    const { db } = this.deps;
    const jobId = randomUUID();
    const claim = (c: DbClient) =>
      s.idempotency
        ? claimIdempotencyKey(c, { projectId: s.project.id, env: s.env, key: s.idempotency.key, requestHash: s.idempotency.requestHash, jobId })
        : Promise.resolve(null);
    const repeat = (hit: IdempotencyHit): SubmitOutcome => {
      if (hit.request_hash !== s.idempotency?.requestHash) {
        throw new AppError('ERR::IDEMPOTENCY::KEY_REUSED', 'this Idempotency-Key was used for a different request in the last 24 hours');
      }
      return { type: 'repeat', hit };
    };
    const row = { id: jobId, project_id: s.project.id, env: s.env, kind: s.kind, params: s.params };

    if (!s.webhookName) {
      const hit = await withTransaction(db, async (c) => {
        // The project's lock first: the key claim and the job row reference the
        // project (a shared row lock), and two submissions that both hold that
        // and then both want the exclusive lock deadlock.
        await lockProject(c, s.project.id);
        const h = await claim(c);
        if (h) return h;
        await insertJob(c, { ...row, webhook_id: null, webhook_name: null }, null);
        // A synchronous capture does not wait in line: it has a slot now, or
        // nothing is created (the transaction rolls back) and the caller is told.
        if ((await this.deps.slots.acquire(s.project, jobWorkflowId(jobId), false, c)) !== 'granted') {
          throw new AppError(
            'ERR::THROTTLE::MAX_CONCURRENT_REQUEST_EXCEEDED',
            `the project runs ${concurrencyOf(s.project)} captures at once, its limit; retry when one has finished, or use a webhook to queue the job`,
          );
        }
        return null;
      });
      if (hit) return repeat(hit);
      const handle = await this.startOrExplain(s, jobId, null);
      await this.awaitResult(s.kind, jobId, handle);
      const job = await getJob(db, jobId);
      // Only a deleted project removes it, and that takes its keys (this caller's) with it.
      if (!job) throw new AppError('ERR::JOB::NOT_FOUND', `job ${jobId} no longer exists`);
      return { type: 'finished', job, result: await getResult(db, jobId) };
    }

    const webhookName = s.webhookName;
    const webhook = await getWebhookByName(db, s.project.id, s.env, webhookName);
    if (!webhook) throw WebhookErrors.notFound(webhookName);
    if (webhook.status === 'disabled') throw WebhookErrors.disabled(webhookName);
    const limit = QUEUE_LIMITS[s.project.plan];
    let queued: number;
    try {
      const out = await withTransaction(db, async (c) => {
        await lockProject(c, s.project.id); // before the claim's shared lock: see the synchronous path
        const h = await claim(c);
        if (h) return { hit: h, queued: 0 };
        const queued = await insertJobWithinQueueLimit(c, { ...row, webhook_id: webhook.id, webhook_name: webhookName }, limit);
        // Its place in the project's line for a capture slot: submission order.
        await this.deps.slots.enqueue(s.project, jobWorkflowId(jobId), c);
        return { hit: null, queued };
      });
      if (out.hit) return repeat(out.hit);
      queued = out.queued;
    } catch (err) {
      if (err instanceof QueueFullError) throw WebhookErrors.queueFull(err.limit);
      throw err;
    }
    await this.startOrExplain(s, jobId, webhook.id);
    const promise: JobPromise = {
      job_uuid: jobId,
      log_uuid: jobId,
      log_url: logUrl(this.deps.config.publicUrl, jobId),
      success: true,
      webhook_enqueued: true,
      webhook_name: webhookName,
      webhook_queue_limit: limit,
      webhook_queued_element: queued,
      webhook_uuid: webhook.id,
    };
    if (s.idempotency) await withTransaction(db, (c) => saveIdempotentResponse(c, jobId, promise));
    return { type: 'enqueued', jobId, promise };
  }

  /** Starts the job's workflow, or settles the job row and throws the 503 that says what is known. */
  private async startOrExplain(s: JobSubmission, jobId: string, webhookId: string | null): Promise<WorkflowHandle> {
    const { db, logger, config } = this.deps;
    const out = await this.start(s, jobId, webhookId);
    if (out.state === 'started') return out.handle;
    const url = logUrl(config.publicUrl, jobId);
    if (out.state === 'not-started') {
      // Nothing runs for this job: it ends failed, owes no delivery, and its key is free again.
      const text = `job could not be scheduled: ${message(out.error)}`;
      const failed = await withTransaction(db, async (c) => {
        if (!(await failUnstartedJob(c, jobId, 'ERR::TEMPORAL::UNAVAILABLE', text))) return false;
        await releaseIdempotencyKey(c, jobId);
        return true;
      });
      // The job took a capture slot (synchronous) or a place in line (webhook) before the start: give it back.
      if (failed) await this.deps.slots.release(s.project, jobWorkflowId(jobId)).catch(() => undefined);
      // The row moved on from queued: a workflow has it after all.
      if (!failed) return this.deps.temporal.workflow.getHandle(jobWorkflowId(jobId));
      logger.warn({ jobId, err: out.error }, 'job workflow was not started; job marked failed');
      throw new AppError('ERR::TEMPORAL::UNAVAILABLE', `${text}; nothing was started, submit it again`);
    }
    // It may be running: its row and its key stay exactly as they are.
    logger.error({ jobId, err: out.error }, 'job workflow start could not be confirmed; job kept as it is');
    throw new AppError(
      'ERR::TEMPORAL::UNAVAILABLE',
      `job ${jobId} may or may not have started: Temporal did not confirm it (${message(out.error)}); check ${url} before submitting it again`,
    );
  }

  private async start(s: JobSubmission, jobId: string, webhookId: string | null): Promise<StartOutcome> {
    const { temporal, config, logger } = this.deps;
    const workflowId = jobWorkflowId(jobId);
    const options = {
      workflowId,
      taskQueue: config.temporal.taskQueue,
      args: [
        buildJobWorkflowInput(config, {
          jobId,
          kind: s.kind,
          deliver: webhookId !== null,
          webhookId,
          // Plain HTTP scrapes are short: a local activity. Browser work is a
          // regular activity with heartbeats and cancellation.
          captureLocal: s.kind === 'scrape' && !s.params.render_js,
          mode: 'new',
        }),
      ],
      // The id is fresh, so a duplicate can only be an earlier try of this very start.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      typedSearchAttributes: [
        { key: SA_PROJECT_NAME, value: s.project.name },
        { key: SA_JOB_STATUS, value: INITIAL_JOB_STATUS },
        { key: SA_JOB_KIND, value: s.kind },
        ...(s.webhookName ? [{ key: SA_WEBHOOK_NAME, value: s.webhookName }] : []),
      ],
    };
    return startFreshWorkflow(temporal, logger, 'jobWorkflow', options, { what: 'job workflow', fields: { jobId } });
  }

  /**
   * A synchronous job's end. The workflow finishes its own row, so a poll
   * that fails changes nothing here: the caller is told where to look.
   */
  private async awaitResult(kind: JobKind, jobId: string, handle: WorkflowHandle): Promise<void> {
    try {
      await handle.result();
    } catch (err) {
      if (err instanceof WorkflowFailedError) {
        throw new AppError(
          kind === 'screenshot' ? 'ERR::SCREENSHOT::FAILED' : 'ERR::SCRAPE::FAILED',
          `the ${kind} failed: ${err.cause?.message ?? err.message}`,
        );
      }
      this.deps.logger.warn({ jobId, err: message(err) }, 'result of a running job could not be read');
      throw new AppError(
        'ERR::TEMPORAL::UNAVAILABLE',
        `job ${jobId} is running but its result could not be read (${message(err)}); it finishes on its own: see ${logUrl(this.deps.config.publicUrl, jobId)}`,
      );
    }
  }
}
