import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { jobReplayer } from '../../../src/commands/jobReplayer';
import { webhookStatusSetter } from '../../../src/commands/webhookStatusSetter';
import { insertJob } from '../../../src/db/repositories/jobs';
import { AppError } from '../../../src/errors';
import { jobWorkflowId } from '../../../src/shared/names';
import { jobStateQuery } from '../../../src/shared/workflowApi';
import { startCommandEnv, type CommandEnv } from '../../helpers/commandEnv';
import { startReceiver, type Receiver } from '../../helpers/receiver';
import { startPageServer } from '../../helpers/site';
import { until } from '../../helpers/wait';

describe('jobReplayer', () => {
  let env: CommandEnv;
  let site: Awaited<ReturnType<typeof startPageServer>>;
  let receiver: Receiver;
  let healthy = false;
  before(async () => {
    site = await startPageServer();
    receiver = await startReceiver(() => (healthy ? { status: 200 } : { status: 503 }));
    env = await startCommandEnv({ WEBHOOK_RETRY_SCHEDULE: '10ms' });
    for (const name of ['flaky', 'to-disable']) {
      await env.hs.api('/webhooks', { method: 'POST', key: env.hs.keys.live, json: { name, url: receiver.url } });
    }
  });
  after(async () => {
    await env?.close();
    await receiver?.close();
    await site?.close();
  });

  const job = async (id: string) => (await env.db.query('SELECT status, delivery_status FROM jobs WHERE id = $1', [id])).rows[0];
  const signals = async (id: string) => {
    const history = await env.temporal.workflow.getHandle(jobWorkflowId(id)).fetchHistory();
    return history
      .events!.filter((e) => e.workflowExecutionSignaledEventAttributes)
      .map((e) => e.workflowExecutionSignaledEventAttributes!.signalName);
  };
  /** A webhook job whose delivery failed: its ladder (two attempts) spent on a 503. */
  const failedJob = async (webhook: string) => {
    const id: string = (await env.hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=${webhook}`, { key: env.hs.keys.live })).body
      .job_uuid;
    await until(async () => ((await job(id)).delivery_status === 'failed' ? true : undefined));
    return id;
  };
  const refusedWith = (code: string) => (err: unknown) => err instanceof AppError && err.code === code;

  it('delivers a failed job again: a replay signal on its workflow, a new series, the same Job-Id', async () => {
    const id = await failedJob('flaky');
    healthy = true;
    try {
      const out = await jobReplayer(env, { scope: env.scope, jobId: id });
      assert.equal(out.job.id, id);
      assert.match(out.replayId, /^[0-9a-f-]{36}$/);
      await until(async () => ((await job(id)).delivery_status === 'delivered' ? true : undefined));
      assert.deepEqual(await signals(id), ['replay']);
      const state = await env.temporal.workflow.getHandle(jobWorkflowId(id)).query(jobStateQuery);
      assert.equal(state.series, 1);
      const { rows } = await env.db.query('SELECT series, attempt, status_code FROM delivery_attempts WHERE job_id = $1 ORDER BY id', [id]);
      assert.deepEqual(
        rows.map((r) => `${r.series}.${r.attempt}:${r.status_code}`),
        ['0.1:503', '0.2:503', '1.1:200'],
      );
      assert.equal(receiver.received.at(-1)!.headers['x-scrapfly-webhook-job-id'], id);
    } finally {
      healthy = false;
    }
  });

  it('refuses a job that had no webhook, and sends nothing', async () => {
    const sync = await env.hs.api(`/scrape?url=${encodeURIComponent(site.url)}`, { key: env.hs.keys.live });
    assert.equal(sync.status, 200);
    const id: string = sync.body.uuid;
    await assert.rejects(jobReplayer(env, { scope: env.scope, jobId: id }), refusedWith('ERR::JOB::NOT_REPLAYABLE'));
    assert.deepEqual(await signals(id), []);
  });

  it('refuses a job that never started, and one still capturing, and starts no workflow', async () => {
    const webhook = (await env.db.query(`SELECT id FROM webhooks WHERE name = 'flaky' AND project_id = $1`, [env.scope.project.id])).rows[0].id;
    const row = (id: string) => ({
      id,
      project_id: env.scope.project.id,
      env: 'live' as const,
      kind: 'scrape' as const,
      webhook_id: webhook,
      webhook_name: 'flaky',
      params: {},
    });
    const neverStarted = randomUUID();
    await insertJob(env.db, row(neverStarted), null);
    await assert.rejects(jobReplayer(env, { scope: env.scope, jobId: neverStarted }), refusedWith('ERR::JOB::NOT_REPLAYABLE'));
    const capturing = randomUUID();
    await insertJob(env.db, row(capturing), 'pending');
    await assert.rejects(jobReplayer(env, { scope: env.scope, jobId: capturing }), refusedWith('ERR::JOB::NOT_READY'));
    for (const id of [neverStarted, capturing]) {
      await assert.rejects(env.temporal.workflow.getHandle(jobWorkflowId(id)).describe(), /not found/i);
      assert.equal((await job(id)).status, 'queued');
    }
  });

  it('refuses a job of a disabled webhook, and sends nothing', async () => {
    const id = await failedJob('to-disable');
    await webhookStatusSetter(env, { scope: env.scope, name: 'to-disable', status: 'disabled' });
    await assert.rejects(jobReplayer(env, { scope: env.scope, jobId: id }), refusedWith('ERR::WEBHOOK::DISABLED'));
    assert.deepEqual(await signals(id), []);
    assert.equal((await job(id)).delivery_status, 'failed');
  });

  it("another project's job is not found", async () => {
    const id = await failedJob('flaky');
    await assert.rejects(jobReplayer(env, { scope: env.otherScope, jobId: id }), refusedWith('ERR::JOB::NOT_FOUND'));
    await assert.rejects(jobReplayer(env, { scope: { ...env.scope, env: 'test' }, jobId: id }), refusedWith('ERR::JOB::NOT_FOUND'));
    assert.deepEqual(await signals(id), []);
  });
});
