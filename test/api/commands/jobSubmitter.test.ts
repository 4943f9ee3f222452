import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Client } from '@temporalio/client';
import { JobSubmitter, type JobSubmission } from '../../../src/commands/jobSubmitter';
import { webhookStatusSetter } from '../../../src/commands/webhookStatusSetter';
import { createCaptureSlots } from '../../../src/concurrency/slots';
import { QUEUE_LIMITS } from '../../../src/db/repositories/projects';
import { AppError } from '../../../src/errors';
import { createTemporalClient } from '../../../src/temporal/client';
import { captureLeaseTtlMs } from '../../../src/temporal/jobInput';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';
import { startReceiver, type Receiver } from '../../helpers/receiver';
import { startPageServer } from '../../helpers/site';
import { until } from '../../helpers/wait';

describe('JobSubmitter', () => {
  let env: CommandEnv;
  let site: Awaited<ReturnType<typeof startPageServer>>;
  let receiver: Receiver;
  let submitter: JobSubmitter;
  const slotsOn = (temporal: Client) =>
    createCaptureSlots({ db: env.db, temporal, logger: env.logger, ttlMs: captureLeaseTtlMs(env.config), enabled: true });
  before(async () => {
    site = await startPageServer('page body');
    receiver = await startReceiver();
    env = await startCommandEnv();
    for (const name of ['in', 'off']) {
      await env.hs.api('/webhooks', { method: 'POST', key: env.hs.keys.live, json: { name, url: receiver.url } });
    }
    submitter = new JobSubmitter({ ...env, slots: slotsOn(env.temporal) });
  });
  after(async () => {
    await env?.close();
    await receiver?.close();
    await site?.close();
  });

  const submission = (over: Partial<JobSubmission> = {}): JobSubmission => ({
    project: env.scope.project,
    env: 'live',
    kind: 'scrape',
    params: { url: site.url, format: 'raw' },
    webhookName: 'in',
    idempotency: null,
    ...over,
  });
  const jobCount = async () => (await env.db.query('SELECT count(*)::int AS n FROM jobs')).rows[0].n;

  it('a webhook job: the row, its place in line, the promise, and a workflow that delivers it', async () => {
    const out = await submitter.submit(submission());
    assert.equal(out.type, 'enqueued');
    if (out.type !== 'enqueued') return;
    const { rows } = await env.db.query('SELECT project_id, env, kind, webhook_name, params FROM jobs WHERE id = $1', [out.jobId]);
    assert.deepEqual(rows[0], {
      project_id: env.scope.project.id,
      env: 'live',
      kind: 'scrape',
      webhook_name: 'in',
      params: { url: site.url, format: 'raw' },
    });
    assert.equal(out.promise.job_uuid, out.jobId);
    assert.equal(out.promise.webhook_name, 'in');
    assert.equal(out.promise.webhook_queue_limit, QUEUE_LIMITS[env.scope.project.plan]);
    assert.equal(out.promise.webhook_queued_element, 1);
    assert.match(out.promise.log_url, new RegExp(`${out.jobId}$`));
    const delivered = await until(async () => receiver.received.find((r) => r.headers['x-scrapfly-webhook-job-id'] === out.jobId));
    assert.match(delivered.body.toString(), /page body/);
  });

  it('a synchronous job runs while the caller waits and comes back finished with its result', async () => {
    const out = await submitter.submit(submission({ webhookName: null }));
    assert.equal(out.type, 'finished');
    if (out.type !== 'finished') return;
    assert.equal(out.job.status, 'done');
    assert.equal(out.job.webhook_id, null);
    assert.equal(out.result?.content, 'page body');
  });

  it('Idempotency-Key: the same request again is a repeat of the first job; another request with the key is refused', async () => {
    const key = `k-${randomUUID()}`;
    const first = await submitter.submit(submission({ idempotency: { key, requestHash: 'h1' } }));
    assert.equal(first.type, 'enqueued');
    const n = await jobCount();
    const again = await submitter.submit(submission({ idempotency: { key, requestHash: 'h1' } }));
    assert.equal(again.type, 'repeat');
    if (again.type === 'repeat' && first.type === 'enqueued') {
      assert.equal(again.hit.job_id, first.jobId);
      assert.deepEqual(again.hit.response, JSON.parse(JSON.stringify(first.promise)));
    }
    await assert.rejects(
      submitter.submit(submission({ idempotency: { key, requestHash: 'h2' } })),
      (err) => err instanceof AppError && err.code === 'ERR::IDEMPOTENCY::KEY_REUSED',
    );
    assert.equal(await jobCount(), n);
  });

  it('refuses an unknown or disabled webhook, and writes no job', async () => {
    await webhookStatusSetter(env, { scope: env.scope, name: 'off', status: 'disabled' });
    const n = await jobCount();
    await assert.rejects(
      submitter.submit(submission({ webhookName: 'nope' })),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::NOT_FOUND',
    );
    await assert.rejects(
      submitter.submit(submission({ webhookName: 'off' })),
      (err) => err instanceof AppError && err.code === 'ERR::WEBHOOK::DISABLED',
    );
    assert.equal(await jobCount(), n);
  });

  it('a start Temporal refuses: the job ends failed, its place is given back, its key is free again', async () => {
    // A namespace the server does not have: the start is refused, surely not landed.
    const nowhere = await createTemporalClient(env.hs.temporalAddress, `absent-${randomUUID()}`);
    try {
      const refused = new JobSubmitter({ ...env, temporal: nowhere, slots: slotsOn(nowhere) });
      const key = `k-${randomUUID()}`;
      await assert.rejects(
        refused.submit(submission({ idempotency: { key, requestHash: 'h' } })),
        (err) => err instanceof AppError && err.code === 'ERR::TEMPORAL::UNAVAILABLE' && /nothing was started/.test(err.message),
      );
      const { rows } = await env.db.query(
        `SELECT id, status, delivery_status, error_code FROM jobs WHERE params->>'url' = $1 ORDER BY created_at DESC LIMIT 1`,
        [site.url],
      );
      assert.equal(rows[0].status, 'failed');
      assert.equal(rows[0].error_code, 'ERR::TEMPORAL::UNAVAILABLE');
      const holder = `job:${rows[0].id}`;
      const leases = await env.db.query('SELECT count(*)::int AS n FROM capture_leases WHERE holder = $1', [holder]);
      const waiters = await env.db.query('SELECT count(*)::int AS n FROM capture_waiters WHERE holder = $1', [holder]);
      assert.equal(leases.rows[0].n + waiters.rows[0].n, 0);
      const retry = await submitter.submit(submission({ idempotency: { key, requestHash: 'h' } }));
      assert.equal(retry.type, 'enqueued');
      if (retry.type === 'enqueued') assert.notEqual(retry.jobId, rows[0].id);
    } finally {
      await nowhere.connection.close();
    }
  });
});
