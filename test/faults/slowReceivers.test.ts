// Receivers that hold an attempt open: one accepts the connection and never
// answers, others trickle a byte at a time. WEBHOOK_TIMEOUT_MS is the whole
// attempt's deadline (not an idle timer that each byte resets), the attempt
// is recorded as ERR::WEBHOOK::TIMEOUT, the ladder goes on, the socket is
// closed, and the worker keeps delivering other jobs meanwhile.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { startPageServer } from '../helpers/site';
import { until } from '../helpers/wait';
import { envInt, printFigures, startSilentReceiver, startTrickleReceiver, type RawReceiver } from '../helpers/receiverFaults';

const TIMEOUT_MS = envInt('FAULTS_WEBHOOK_TIMEOUT_MS', 2000);
// Room for the event loop of a loaded 2-core machine; the bound itself is the deadline.
const SLACK_MS = envInt('FAULTS_DEADLINE_SLACK_MS', 1500);
const SILENT_JOBS = envInt('FAULTS_SILENT_JOBS', 10);
const HEALTHY_JOBS = envInt('FAULTS_HEALTHY_JOBS', 20);
const TRICKLE_EVERY_MS = envInt('FAULTS_TRICKLE_EVERY_MS', 300);
// Three attempts per job: enough to see the ladder go on after a timeout.
const SCHEDULE = '100ms,100ms';
const ATTEMPTS = 3;
const TIMEOUT = 'ERR::WEBHOOK::TIMEOUT';
// undici's default keep-alive timeout: how long its idle connections live.
const IDLE_CLOSE_MS = 4000;

interface AttemptRow {
  job_id: string;
  attempt: number;
  error_code: string | null;
  status_code: number | null;
  duration_ms: number;
  started_at: Date;
}

describe('receivers that never finish answering', () => {
  let site: Awaited<ReturnType<typeof startPageServer>>;
  let hs: TestHookshot;
  before(async () => {
    site = await startPageServer();
    hs = await startTestHookshot({ WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS), WEBHOOK_RETRY_SCHEDULE: SCHEDULE, WEBHOOK_RETRY_JITTER: '0' });
    const plan = await hs.api('/admin/projects/default', {
      method: 'PATCH',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      json: { plan: 'ENTERPRISE' },
    });
    assert.equal(plan.status, 200, JSON.stringify(plan.body));
  });
  after(async () => {
    await hs?.close();
    await site?.close();
  });

  const createWebhook = async (name: string, url: string): Promise<string> => {
    const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name, url } });
    assert.equal(w.status, 201, JSON.stringify(w.body));
    return w.body.uuid;
  };
  const submit = async (webhook: string, n: number): Promise<string[]> => {
    const res = await Promise.all(
      Array.from({ length: n }, () => hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=${webhook}`, { key: hs.keys.live })),
    );
    for (const r of res) assert.equal(r.status, 200, JSON.stringify(r.body));
    return res.map((r) => r.body.job_uuid as string);
  };
  /** Waits until every job of the webhook has ended; returns the jobs' end states. */
  const settled = (webhookId: string, n: number, timeoutMs: number) =>
    until(async () => {
      const { rows } = await hs.db.query<{ id: string; status: string; error_code: string | null }>(
        `SELECT id, status, error_code FROM jobs WHERE webhook_id = $1`,
        [webhookId],
      );
      return rows.length === n && rows.every((r) => r.status === 'delivered' || r.status === 'failed') ? rows : undefined;
    }, timeoutMs);
  const attempts = async (webhookId: string) =>
    (
      await hs.db.query<AttemptRow>(
        `SELECT job_id, attempt, error_code, status_code, duration_ms, started_at FROM delivery_attempts WHERE webhook_id = $1 ORDER BY started_at`,
        [webhookId],
      )
    ).rows;
  /** Every attempt is a timeout that ended at the deadline, not before and not much after. */
  const assertDeadlines = (rows: AttemptRow[], jobs: number) => {
    assert.equal(rows.length, jobs * ATTEMPTS, 'every attempt recorded, the ladder went on after each timeout');
    for (const a of rows) {
      assert.equal(a.error_code, TIMEOUT, `attempt ${a.attempt} of ${a.job_id}`);
      assert.equal(a.status_code, null);
      assert.ok(a.duration_ms >= TIMEOUT_MS - 5, `attempt lasted ${a.duration_ms} ms, before the ${TIMEOUT_MS} ms deadline`);
      assert.ok(a.duration_ms <= TIMEOUT_MS + SLACK_MS, `attempt lasted ${a.duration_ms} ms, past the ${TIMEOUT_MS} ms deadline + ${SLACK_MS} ms`);
    }
  };
  /**
   * The receiver's connections once every attempt ended. Those that carried a
   * request must have been closed by the client at the deadline. undici 7
   * (nodejs/undici#5845) reconnects for the request it just aborted and then
   * drops the request, so each timeout can leave one fresh connection that
   * never carries a byte; undici closes it idle after its keep-alive timeout
   * (4 s), unless the next attempt picks it up. Idle ones are counted apart,
   * with how long they lived; a request's socket, from its first byte.
   */
  const sockets = async (r: RawReceiver) => {
    const t0 = Date.now();
    await until(async () => (r.open() === 0 ? true : undefined), IDLE_CLOSE_MS + SLACK_MS, 20).catch(() => undefined);
    const requests = r.connections.filter((c) => c.bytesIn > 0);
    const idle = r.connections.filter((c) => c.bytesIn === 0);
    const life = (cs: typeof requests) => cs.map((c) => (c.closedAt ?? Infinity) - (c.firstByteAt ?? c.openedAt));
    return { open: r.open(), waitedMs: Date.now() - t0, requests, idle, requestLife: life(requests), idleLife: life(idle) };
  };
  const range = (xs: number[]) => (xs.length ? `${Math.min(...xs)}..${Math.max(...xs)} ms` : '-');
  /** Every request's socket closed at the attempt's deadline; every idle one within undici's keep-alive timeout. */
  const assertSockets = (s: Awaited<ReturnType<typeof sockets>>, attempts: number) => {
    assert.equal(s.requests.length, attempts, 'one connection per attempt: a timed-out socket is never reused');
    for (const l of s.requestLife) assert.ok(l <= TIMEOUT_MS + SLACK_MS, `a request's socket stayed open ${l} ms`);
    assert.ok(s.idle.length <= attempts, `${s.idle.length} idle connections for ${attempts} timeouts`);
    for (const l of s.idleLife) assert.ok(l <= IDLE_CLOSE_MS + SLACK_MS, `an idle connection stayed open ${l} ms`);
    assert.equal(s.open, 0, 'no socket left open at the receiver');
  };
  const durations = (rows: AttemptRow[]) => {
    const d = rows.map((a) => a.duration_ms);
    return `${Math.min(...d)}..${Math.max(...d)} ms`;
  };

  it('a receiver that accepts and never answers: each attempt times out at the deadline, other webhooks are delivered meanwhile', async () => {
    const silent = await startSilentReceiver();
    const openAtHealthy: number[] = [];
    const healthy = await startReceiver(() => {
      openAtHealthy.push(silent.open());
      return { status: 200, body: 'ok' };
    });
    try {
      const silentId = await createWebhook('silent', silent.url);
      const healthyId = await createWebhook('healthy', healthy.url);
      const silentJobs = await submit('silent', SILENT_JOBS);
      // Every silent job's first attempt holds a connection (and an activity slot) before the healthy ones start.
      await until(async () => (silent.open() >= SILENT_JOBS ? true : undefined), 60_000, 20);
      const healthyJobs = await submit('healthy', HEALTHY_JOBS);

      const healthyEnds = await settled(healthyId, HEALTHY_JOBS, 60_000);
      const silentEnds = await settled(silentId, SILENT_JOBS, 60_000);
      const closed = await sockets(silent);

      const silentRows = await attempts(silentId);
      const perJob = new Map<string, number>();
      for (const r of healthy.received) {
        const id = String(r.headers['x-scrapfly-webhook-job-id']);
        perJob.set(id, (perJob.get(id) ?? 0) + 1);
      }
      const duplicates = [...perJob.values()].reduce((n, c) => n + c - 1, 0);
      const duringHang = openAtHealthy.filter((n) => n > 0).length;
      printFigures('fault: receiver accepts and never answers', {
        'jobs submitted': `${SILENT_JOBS + HEALTHY_JOBS} (${SILENT_JOBS} to the silent webhook, ${HEALTHY_JOBS} to a healthy one)`,
        delivered: `${healthyEnds.filter((j) => j.status === 'delivered').length} of ${HEALTHY_JOBS} healthy`,
        'silent jobs ended': `${silentEnds.length} (${silentEnds.filter((j) => j.error_code === 'ERR::WEBHOOK::MAX_RETRY').length} MAX_RETRY)`,
        lost: SILENT_JOBS + HEALTHY_JOBS - healthyEnds.length - silentEnds.length,
        'duplicates at the receiver': duplicates,
        'silent attempts recorded': `${silentRows.length} (${silentRows.filter((a) => a.error_code === TIMEOUT).length} ${TIMEOUT})`,
        'attempt durations': `${durations(silentRows)} (deadline ${TIMEOUT_MS} ms)`,
        'connections with a request': `${closed.requests.length}, open ${range(closed.requestLife)} from the request on`,
        'idle connections (undici#5845)': `${closed.idle.length}, open ${range(closed.idleLife)} each`,
        'sockets open at the end': `${closed.open} (waited ${closed.waitedMs} ms after the last job ended)`,
        'healthy deliveries during the hang': `${duringHang} of ${healthy.received.length} arrived while silent attempts were open`,
      });

      assert.deepEqual(
        healthyEnds.map((j) => j.status),
        Array(HEALTHY_JOBS).fill('delivered'),
      );
      assert.deepEqual(new Set(perJob.keys()), new Set(healthyJobs), 'each healthy job reached the receiver');
      assert.equal(duplicates, 0);
      assert.deepEqual(new Set(silentEnds.map((j) => j.id)), new Set(silentJobs));
      for (const j of silentEnds) assert.deepEqual([j.status, j.error_code], ['failed', 'ERR::WEBHOOK::MAX_RETRY']);
      assertDeadlines(silentRows, SILENT_JOBS);
      assertSockets(closed, SILENT_JOBS * ATTEMPTS);
      // The worker was not stuck behind the hanging attempts.
      assert.ok(duringHang > 0, 'at least one healthy delivery arrived while silent attempts hung');
    } finally {
      await silent.close();
      await healthy.close();
    }
  });

  for (const mode of ['body', 'status'] as const) {
    it(`a receiver that trickles its ${mode === 'body' ? 'body' : 'status line'} a byte at a time: the deadline is total, not reset by each byte`, async () => {
      const trickle = await startTrickleReceiver(mode, TRICKLE_EVERY_MS);
      try {
        const name = `trickle-${mode}`;
        const id = await createWebhook(name, trickle.url);
        const [job] = await submit(name, 1);
        const [end] = await settled(id, 1, 60_000);
        const closed = await sockets(trickle);
        const rows = await attempts(id);
        const bytes = closed.requests.map((c) => c.bytesOut);
        printFigures(`fault: receiver trickles its ${mode === 'body' ? 'body' : 'status line'} (1 byte / ${TRICKLE_EVERY_MS} ms)`, {
          'jobs submitted': 1,
          delivered: 0,
          'ended as': `${end!.status} ${end!.error_code}`,
          lost: end ? 0 : 1,
          'duplicates at the receiver': closed.requests.length - rows.length,
          'attempts recorded': `${rows.length} (${rows.filter((a) => a.error_code === TIMEOUT).length} ${TIMEOUT})`,
          'attempt durations': `${durations(rows)} (deadline ${TIMEOUT_MS} ms)`,
          'bytes trickled per attempt': bytes.join(', '),
          'connections with a request': `${closed.requests.length}, open ${range(closed.requestLife)} from the request on`,
          'idle connections (undici#5845)': `${closed.idle.length}, open ${range(closed.idleLife)} each`,
          'sockets open at the end': `${closed.open} (waited ${closed.waitedMs} ms)`,
        });
        assert.equal(end!.id, job);
        assert.deepEqual([end!.status, end!.error_code], ['failed', 'ERR::WEBHOOK::MAX_RETRY']);
        assertDeadlines(rows, 1);
        // Each attempt kept getting bytes past the point an idle timer would have
        // been reset, so only a total deadline could end it.
        for (const b of bytes) assert.ok(b >= 2, `the receiver sent ${b} bytes in the attempt`);
        assertSockets(closed, ATTEMPTS);
      } finally {
        await trickle.close();
      }
    });
  }
});
