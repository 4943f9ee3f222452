import type { Db, DbClient } from '../pool';
import { onlyRow } from '../pool';
import type { Attempt, Env, Job, JobResult, Project, SentPayload, Webhook } from '../rows';
import { DELIVERY_END_CODES } from '../../errors';
import { INITIAL_JOB_STATUS, JOB_TRANSITIONS, type JobTransition, type JobTransitionRule } from '../../shared/jobStatus';

type Q = Db | DbClient;

export async function insertJob(
  db: Q,
  job: Pick<Job, 'id' | 'project_id' | 'env' | 'kind' | 'webhook_id' | 'webhook_name' | 'params'>,
  deliveryStatus: 'pending' | null,
): Promise<void> {
  await db.query(
    `INSERT INTO jobs (id, project_id, env, kind, webhook_id, webhook_name, status, delivery_status, params)
     VALUES ($1, $2, $3, $4, $5, $6, $9, $7, $8)`,
    [job.id, job.project_id, job.env, job.kind, job.webhook_id, job.webhook_name, deliveryStatus, job.params, INITIAL_JOB_STATUS],
  );
}

export async function getJob(db: Q, id: string): Promise<Job | null> {
  const { rows } = await db.query<Job>('SELECT * FROM jobs WHERE id = $1', [id]);
  return rows[0] ?? null;
}

/** A job with what its capture slot depends on: its project's plan and limit. */
export async function getJobWithProject(db: Q, id: string): Promise<{ job: Job; project: Pick<Project, 'id' | 'plan' | 'concurrency'> } | null> {
  const { rows } = await db.query<Job & { project_plan: Project['plan']; project_concurrency: number | null }>(
    `SELECT j.*, p.plan AS project_plan, p.concurrency AS project_concurrency
       FROM jobs j JOIN projects p ON p.id = j.project_id WHERE j.id = $1`,
    [id],
  );
  const r = rows[0];
  if (!r) return null;
  const { project_plan, project_concurrency, ...job } = r;
  return { job, project: { id: job.project_id, plan: project_plan, concurrency: project_concurrency } };
}

export async function getJobInScope(db: Q, id: string, projectId: string, env: Env): Promise<Job | null> {
  const { rows } = await db.query<Job>('SELECT * FROM jobs WHERE id = $1 AND project_id = $2 AND env = $3', [id, projectId, env]);
  return rows[0] ?? null;
}

/**
 * Writes one step of the job's state machine (src/shared/jobStatus.ts), as
 * the job workflow chose it: the status, delivery_status and completed_at
 * come from the table, never from the caller. `errors`, when given, is
 * stored with it. The update is not guarded by the table's from-states: the
 * workflow enforces them, and an activity run again must be able to write
 * its step (and its error) a second time.
 */
export async function transitionJob(
  db: Q,
  id: string,
  transition: JobTransition,
  errors?: { error_code: string | null; error_message: string | null },
): Promise<void> {
  const rule: JobTransitionRule = JOB_TRANSITIONS[transition];
  await db.query(
    `UPDATE jobs SET status = $2,
        delivery_status = CASE $3 WHEN 'keep' THEN delivery_status WHEN 'none' THEN NULL ELSE $3 END,
        error_code = CASE WHEN $4::boolean THEN $5 ELSE error_code END,
        error_message = CASE WHEN $4::boolean THEN $6 ELSE error_message END,
        completed_at = CASE $7 WHEN 'set' THEN now() WHEN 'clear' THEN NULL ELSE completed_at END,
        updated_at = now()
      WHERE id = $1`,
    [id, rule.to, rule.delivery, errors !== undefined, errors?.error_code ?? null, errors?.error_message ?? null, rule.completes],
  );
}

/** Stores the capture's error (or its absence) without a step: a synchronous job stays running until it finishes. */
export async function setJobError(db: Q, id: string, errors: { error_code: string | null; error_message: string | null }): Promise<void> {
  await db.query('UPDATE jobs SET error_code = $2, error_message = $3, updated_at = now() WHERE id = $1', [
    id,
    errors.error_code,
    errors.error_message,
  ]);
}

export async function saveResult(db: Q, r: Omit<JobResult, 'created_at'>): Promise<void> {
  // Upsert: a retried scrape activity overwrites its own earlier result.
  await db.query(
    `INSERT INTO job_results (job_id, status_code, final_url, headers, format, content_type, content, body, size_bytes, duration_ms)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)
     ON CONFLICT (job_id) DO UPDATE SET status_code = EXCLUDED.status_code, final_url = EXCLUDED.final_url,
       headers = EXCLUDED.headers, format = EXCLUDED.format, content_type = EXCLUDED.content_type,
       content = EXCLUDED.content, body = EXCLUDED.body, size_bytes = EXCLUDED.size_bytes,
       duration_ms = EXCLUDED.duration_ms, created_at = now()`,
    [r.job_id, r.status_code, r.final_url, r.headers, r.format, r.content_type, r.content, r.body, r.size_bytes, r.duration_ms],
  );
}

export async function getResult(db: Q, jobId: string): Promise<JobResult | null> {
  const { rows } = await db.query<JobResult>('SELECT * FROM job_results WHERE job_id = $1', [jobId]);
  return rows[0] ?? null;
}

/**
 * One row per attempt; with a transition (a failed attempt the ladder will
 * retry), the job's status is set in the same statement; with a payload, its first `maxBytes` bytes are kept alongside
 * (a retried activity overwrites its own earlier copy, like the attempt).
 */
export async function recordAttempt(
  db: Q,
  a: Omit<Attempt, 'id'>,
  transition: Extract<JobTransition, 'retryScheduled'> | null = null,
  payload: (SentPayload & { maxBytes: number }) | null = null,
): Promise<void> {
  const keep = payload && payload.maxBytes > 0 ? payload : null;
  const truncated = keep ? keep.body.length > keep.maxBytes : false;
  await db.query(
    `WITH job AS (UPDATE jobs SET status = $16, updated_at = now() WHERE id = $1 AND $16::text IS NOT NULL),
     att AS (
     INSERT INTO delivery_attempts (job_id, webhook_id, series, attempt, started_at, duration_ms, url, final_url, success,
       status_code, error_code, error_message, request_headers, response_headers, response_snippet)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15)
     ON CONFLICT (job_id, series, attempt) DO UPDATE SET started_at = EXCLUDED.started_at,
       duration_ms = EXCLUDED.duration_ms, final_url = EXCLUDED.final_url, success = EXCLUDED.success,
       status_code = EXCLUDED.status_code, error_code = EXCLUDED.error_code, error_message = EXCLUDED.error_message,
       request_headers = EXCLUDED.request_headers, response_headers = EXCLUDED.response_headers,
       response_snippet = EXCLUDED.response_snippet
     RETURNING id)
     INSERT INTO attempt_payloads (attempt_id, content_type, content_encoding, body, size_bytes, truncated)
     SELECT id, $17::text, $18::text, $19::bytea, $20::int, $21::boolean FROM att WHERE $19::bytea IS NOT NULL
     ON CONFLICT (attempt_id) DO UPDATE SET content_type = EXCLUDED.content_type, content_encoding = EXCLUDED.content_encoding,
       body = EXCLUDED.body, size_bytes = EXCLUDED.size_bytes, truncated = EXCLUDED.truncated, created_at = now()`,
    [
      a.job_id,
      a.webhook_id,
      a.series,
      a.attempt,
      a.started_at,
      a.duration_ms,
      a.url,
      a.final_url,
      a.success,
      a.status_code,
      a.error_code,
      a.error_message,
      a.request_headers,
      a.response_headers,
      a.response_snippet,
      transition ? JOB_TRANSITIONS[transition].to : null,
      keep?.content_type ?? null,
      keep?.content_encoding ?? null,
      keep ? (truncated ? keep.body.subarray(0, keep.maxBytes) : keep.body) : null,
      keep?.body.length ?? null,
      truncated,
    ],
  );
}

/**
 * Retention of stored payloads: deletes up to `limit` that are older than
 * `retentionMs`, oldest first, and keeps their attempt rows. Called after
 * every recorded attempt, so it removes at least as many as deliveries add;
 * on the age index it costs one index probe when nothing is due. SKIP LOCKED:
 * workers sweeping at once take different rows instead of queueing.
 */
export async function sweepExpiredPayloads(db: Q, retentionMs: number, limit = 100): Promise<number> {
  const res = await db.query(
    `DELETE FROM attempt_payloads WHERE attempt_id IN (
       SELECT attempt_id FROM attempt_payloads
        WHERE created_at < now() - make_interval(secs => $1::double precision / 1000)
        ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED)`,
    [retentionMs, limit],
  );
  return res.rowCount ?? 0;
}

export async function listAttempts(db: Q, jobId: string): Promise<Attempt[]> {
  const { rows } = await db.query<Attempt>('SELECT * FROM delivery_attempts WHERE job_id = $1 ORDER BY series, attempt', [jobId]);
  return rows;
}

export interface AttemptContext {
  job: Job;
  /** Read under the webhook's shared gate lock: a disable being stored waits for this read, so the two are ordered. */
  webhook: Webhook | null;
  projectName: string;
  /** The same attempt, recorded by an earlier try of the activity. */
  prior: Attempt | null;
  /** The stored capture; read here because an attempt that sends needs it (one round trip). */
  result: JobResult | null;
  /** The database's clock at the gate: the attempt's start. */
  gateAt: Date;
}

/** Everything one delivery attempt needs, in one query; null when the job is gone. */
export async function loadAttemptContext(db: Q, jobId: string, series: number, attempt: number): Promise<AttemptContext | null> {
  const { rows } = await db.query<{
    job: Job;
    webhook: Webhook | null;
    project_name: string;
    prior: Attempt | null;
    result: JobResult | null;
    gate_at: Date;
  }>('SELECT * FROM delivery_attempt_context($1, $2, $3)', [jobId, series, attempt]);
  const row = rows[0] as ((typeof rows)[number] & { result_body: Buffer | null }) | undefined;
  if (!row) return null;
  // jsonb carries timestamps as text: give back the Dates the rest of the code expects.
  const dates = <T extends object>(o: T, keys: string[]): T => {
    for (const k of keys) {
      const v = (o as Record<string, unknown>)[k];
      if (typeof v === 'string') (o as Record<string, unknown>)[k] = new Date(v);
    }
    return o;
  };
  return {
    job: dates(row.job, ['created_at', 'updated_at', 'completed_at']),
    webhook: row.webhook && dates(row.webhook, ['created_at', 'updated_at', 'disabled_at']),
    projectName: row.project_name,
    prior: row.prior && dates(row.prior, ['started_at', 'created_at']),
    result: row.result && { ...dates(row.result, ['created_at']), body: row.result_body },
    gateAt: row.gate_at,
  };
}

/**
 * The job's `seriesBegun` step (a replay): it is pending again for a new
 * attempt series, and a webhook error of the last series is cleared. `series`, when the
 * caller knows it, is the number to use, which makes a repeated call (a
 * local activity run again) land on the same series; without it the next
 * number after the recorded attempts.
 */
export async function beginDeliverySeries(db: Q, jobId: string, series?: number): Promise<number> {
  const { rows } = await db.query<{ series: number }>(
    `UPDATE jobs SET status = $4, delivery_status = $5,
            error_code = CASE WHEN error_code = ANY($2) THEN NULL ELSE error_code END,
            error_message = CASE WHEN error_code = ANY($2) THEN NULL ELSE error_message END,
            completed_at = NULL, updated_at = now()
      WHERE id = $1
     RETURNING coalesce($3::int, (SELECT coalesce(max(series) + 1, 0) FROM delivery_attempts WHERE job_id = $1))::int AS series`,
    [jobId, DELIVERY_END_CODES, series ?? null, JOB_TRANSITIONS.seriesBegun.to, JOB_TRANSITIONS.seriesBegun.delivery],
  );
  return rows[0]?.series ?? series ?? 0;
}

export type WebhookJobFilter = 'failed' | 'retrying';

/** A page of a webhook's jobs by id: failed deliveries (replay) or jobs waiting on the ladder (wake). */
export async function listWebhookJobs(
  db: Q,
  webhookId: string,
  filter: WebhookJobFilter,
  opts: { since: string | null; after: string; limit: number },
): Promise<Array<Pick<Job, 'id' | 'kind' | 'webhook_id' | 'webhook_name'>>> {
  const { rows } = await db.query<Pick<Job, 'id' | 'kind' | 'webhook_id' | 'webhook_name'>>(
    `SELECT id, kind, webhook_id, webhook_name FROM jobs
      WHERE webhook_id = $1
        AND CASE WHEN $2 = 'failed' THEN delivery_status = 'failed'
                 ELSE delivery_status = 'pending' AND status = 'retrying' END
        AND ($3::timestamptz IS NULL OR created_at >= $3)
        AND id > $4::uuid
      ORDER BY id LIMIT $5`,
    [webhookId, filter, opts.since, opts.after, opts.limit],
  );
  return rows;
}

/** Failed deliveries of a webhook (created since `since`), as a bulk replay picks them. */
export async function countFailedDeliveries(db: Q, webhookId: string, since: string | null): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM jobs WHERE webhook_id = $1 AND delivery_status = 'failed' AND ($2::timestamptz IS NULL OR created_at >= $2)`,
    [webhookId, since],
  );
  return onlyRow(rows).n;
}

/**
 * The `startFailed` step: a job whose workflow never started ends failed,
 * owing no delivery (so it is neither counted in the queue nor picked up by
 * a bulk replay). Guarded by the table's from-state (`queued`): a job that a
 * workflow has touched keeps its state, as the workflow owns it from then on.
 */
export async function failUnstartedJob(db: Q, id: string, errorCode: string, errorMessage: string): Promise<boolean> {
  const rule: JobTransitionRule = JOB_TRANSITIONS.startFailed;
  const res = await db.query(
    `UPDATE jobs SET status = $4, delivery_status = NULL, error_code = $2, error_message = $3,
            completed_at = now(), updated_at = now()
      WHERE id = $1 AND status = ANY($5::text[])`,
    [id, errorCode, errorMessage, rule.to, rule.from],
  );
  return res.rowCount === 1;
}
