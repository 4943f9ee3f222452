import { after, before, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ServiceError, type Client, type WorkflowHandle } from '@temporalio/client';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { startPageServer } from '../helpers/site';
import { until } from '../helpers/wait';

type Fault =
  | null
  /** The start reaches Temporal and the workflow runs, but the caller gets a deadline error. */
  | 'landed-then-deadline'
  /** The start never leaves: every call fails at once with a deadline error. */
  | 'never-sent'
  /** As never-sent, and asking Temporal about the workflow fails too. */
  | 'never-sent-and-unreachable'
  /** The start works; reading the workflow's result fails. */
  | 'result-poll-fails'
  /** The server refuses the start (INVALID_ARGUMENT): nothing to retry or ask. */
  | 'refused'
  /** UNAVAILABLE, which the Temporal client has already retried: ask, do not retry. */
  | 'unavailable';

/** What the Temporal client throws for a failed call: a ServiceError around the gRPC error. */
const grpcError = (what: string, code: number, details: string) =>
  new ServiceError(what, { cause: Object.assign(new Error(`${code} ${details}`), { code, details, metadata: {} }) });
const deadlineError = (what: string) => grpcError(what, 4, 'Deadline exceeded');

/** The real client, with one fault injected into the calls the API makes; counts start calls. */
function faulty(real: Client, fault: () => Fault, calls: { start: number }): Client {
  const bind = (target: object, prop: string | symbol) => {
    const v = Reflect.get(target, prop, target);
    return typeof v === 'function' ? v.bind(target) : v;
  };
  const patchHandle = (h: WorkflowHandle, patch: Partial<WorkflowHandle>): WorkflowHandle =>
    new Proxy(h, { get: (t, p) => (p in patch ? (patch as Record<string | symbol, unknown>)[p] : bind(t, p)) });
  const workflow = new Proxy(real.workflow, {
    get(target, prop) {
      if (prop === 'start') {
        return async (...args: Parameters<Client['workflow']['start']>) => {
          calls.start++;
          const f = fault();
          if (f === 'refused') throw grpcError('Failed to start Workflow', 3, 'invalid search attribute');
          if (f === 'unavailable') throw grpcError('Failed to start Workflow', 14, 'No connection established');
          if (f === 'never-sent' || f === 'never-sent-and-unreachable') throw deadlineError('Failed to start Workflow');
          const handle = await target.start(...args);
          if (f === 'landed-then-deadline') throw deadlineError('Failed to start Workflow');
          if (f === 'result-poll-fails') {
            return patchHandle(handle, {
              result: async () => {
                throw deadlineError('Failed to get Workflow execution history');
              },
            });
          }
          return handle;
        };
      }
      if (prop === 'getHandle') {
        return (...args: Parameters<Client['workflow']['getHandle']>) => {
          const h = target.getHandle(...args);
          if (fault() !== 'never-sent-and-unreachable') return h;
          return patchHandle(h, {
            describe: async () => {
              throw deadlineError('Failed to describe Workflow');
            },
          });
        };
      }
      return bind(target, prop);
    },
  });
  return new Proxy(real, { get: (t, p) => (p === 'workflow' ? workflow : bind(t, p)) });
}

describe('a workflow start whose outcome the API does not see', () => {
  let hs: TestHookshot;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let page: Awaited<ReturnType<typeof startPageServer>>;
  let fault: Fault = null;
  const calls = { start: 0 };
  before(async () => {
    receiver = await startReceiver();
    page = await startPageServer('<p>race</p>');
    hs = await startTestHookshot({}, { wrapApiTemporal: (c) => faulty(c, () => fault, calls) });
    const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'race', url: receiver.url } });
    assert.equal(w.status, 201);
  });
  beforeEach(() => {
    fault = null;
    calls.start = 0;
  });
  after(async () => {
    await hs?.close();
    await receiver?.close();
    await page?.close();
  });

  const pending = async () => (await hs.db.query(`SELECT count(*)::int AS n FROM jobs WHERE delivery_status = 'pending'`)).rows[0].n as number;
  const jobRow = async (id: string) => (await hs.db.query('SELECT * FROM jobs WHERE id = $1', [id])).rows[0];
  const submit = (headers: Record<string, string> = {}) =>
    hs.api(`/scrape?url=${encodeURIComponent(page.url)}&webhook_name=race`, { key: hs.keys.live, headers });

  it('a start that landed but answered with a timeout: the job is kept, confirmed and delivered', async () => {
    fault = 'landed-then-deadline';
    const before = receiver.received.length;
    const r = await submit();
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const jobId = r.body.job_uuid as string;
    assert.ok(await jobRow(jobId), 'the row of the running workflow is still there');
    await receiver.waitFor(before + 1);
    assert.equal(receiver.received[before]!.headers['x-scrapfly-webhook-job-id'], jobId);
    const job = await until(async () => {
      const j = await hs.api(`/jobs/${jobId}`, { key: hs.keys.live });
      return j.body.status === 'delivered' ? j.body : undefined;
    });
    assert.equal(job.delivery_status, 'delivered');
    assert.equal(job.attempts.length, 1);
  });

  it('the same for a synchronous job: the scrape is answered', async () => {
    fault = 'landed-then-deadline';
    const r = await hs.api(`/scrape?url=${encodeURIComponent(page.url)}`, { key: hs.keys.live });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.result.success, true);
    assert.equal(r.body.result.content, '<p>race</p>');
    assert.equal((await jobRow(r.body.uuid)).status, 'done');
  });

  it('a start that never landed: 503, nothing pending, the job on record as failed, the Idempotency-Key free again', async () => {
    await until(async () => ((await pending()) === 0 ? true : undefined));
    fault = 'never-sent';
    const r = await submit({ 'idempotency-key': 'never-sent-1' });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.deepEqual(Object.keys(r.body).sort(), ['code', 'error_id', 'http_code', 'message', 'retryable']);
    assert.equal(r.body.code, 'ERR::TEMPORAL::UNAVAILABLE');
    assert.equal(r.body.retryable, true);
    assert.equal(calls.start, 3, 'an unclear start is tried again');
    assert.equal(await pending(), 0, 'no pending job counts against the queue');
    const { rows } = await hs.db.query(`SELECT * FROM jobs WHERE params->>'url' = $1 AND status = 'failed'`, [page.url]);
    assert.equal(rows.length, 1, 'the job stays on record');
    assert.equal(rows[0].error_code, 'ERR::TEMPORAL::UNAVAILABLE');
    assert.equal(rows[0].delivery_status, null, 'it owes no delivery, so no bulk replay picks it up');
    const replay = await hs.api(`/jobs/${rows[0].id}/replay`, { method: 'POST', key: hs.keys.live });
    assert.equal(replay.status, 409);
    assert.equal(replay.body.code, 'ERR::JOB::NOT_REPLAYABLE');

    fault = null;
    const again = await submit({ 'idempotency-key': 'never-sent-1' });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.headers.get('idempotent-replayed'), null, 'a new job, not a replayed answer');
    assert.notEqual(again.body.job_uuid, rows[0].id);
  });

  for (const [f, tries] of [
    ['refused', 1],
    ['unavailable', 1],
  ] as const) {
    it(`a start that fails with ${f}: tried ${tries} time(s), then the job fails and its key is free`, async () => {
      fault = f;
      const r = await submit({ 'idempotency-key': `${f}-1` });
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.code, 'ERR::TEMPORAL::UNAVAILABLE');
      assert.equal(calls.start, tries);
      fault = null;
      const again = await submit({ 'idempotency-key': `${f}-1` });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.headers.get('idempotent-replayed'), null);
    });
  }

  it('a start nobody can confirm or deny: the row is kept as it is and the 503 names the job', async () => {
    await until(async () => ((await pending()) === 0 ? true : undefined));
    fault = 'never-sent-and-unreachable';
    const r = await submit({ 'idempotency-key': 'unknown-1' });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.code, 'ERR::TEMPORAL::UNAVAILABLE');
    const m = /job ([0-9a-f-]{36})/.exec(r.body.message);
    assert.ok(m, r.body.message);
    assert.ok(r.body.message.includes(`/jobs/${m[1]}`), 'and where to follow it');
    const row = await jobRow(m[1]!);
    assert.equal(row.status, 'queued', 'not deleted, not failed: it may be running');
    assert.equal(row.delivery_status, 'pending');
    assert.equal(await pending(), 1, 'and it still counts against the queue');
    // The key stays claimed: a repeat is told to wait rather than starting a twin.
    fault = null;
    const repeat = await submit({ 'idempotency-key': 'unknown-1' });
    assert.equal(repeat.status, 409);
    assert.equal(repeat.body.code, 'ERR::IDEMPOTENCY::IN_PROGRESS');
  });

  it('a synchronous job whose result cannot be read: 503 naming the job, which finishes on its own', async () => {
    fault = 'result-poll-fails';
    const r = await hs.api(`/scrape?url=${encodeURIComponent(page.url)}`, { key: hs.keys.live });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.equal(r.body.code, 'ERR::TEMPORAL::UNAVAILABLE');
    const jobId = /job ([0-9a-f-]{36})/.exec(r.body.message)?.[1];
    assert.ok(jobId, r.body.message);
    const done = await until(async () => {
      const row = await jobRow(jobId);
      return row?.status === 'done' ? row : undefined;
    });
    assert.equal(done.error_code, null);
  });
});
