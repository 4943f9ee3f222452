// SPEC section 12: PostgreSQL restarted under load. The in-process version
// (test/e2e/databaseOutage.test.ts) cuts a proxy; here the machine's own
// server is stopped and started again while jobs are submitted over the API
// without a pause. Meanwhile the API answers 503 ERR::DATABASE::UNAVAILABLE,
// never a 500; afterwards it recovers by itself, every job it accepted is
// delivered as recorded, and no refused job left a row behind.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startReceiver } from '../helpers/receiver';
import { STATIC_PAGE, startTestSite } from '../helpers/site';
import { until } from '../helpers/wait';
import { createWebhook, machinePostgres, report, sized, sleep, waitDelivered, withFaultStack } from './harness';

/** Submission loops running at once, each pausing SUBMIT_PAUSE_MS between its requests. */
const SUBMITTERS = sized('PG_SUBMITTERS', 2);
const SUBMIT_PAUSE_MS = sized('PG_SUBMIT_PAUSE_MS', 100);
/** Submissions before the stop, and after the server is back. */
const WARMUP_MS = sized('PG_WARMUP_MS', 2000);
const AFTER_MS = sized('PG_AFTER_MS', 3000);
/** How long the server stays stopped. */
const OUTAGE_MS = sized('PG_OUTAGE_MS', 4000);
/** The receiver holds each delivery this long, so some are in flight when the server stops. */
const HOLD_MS = sized('PG_HOLD_MS', 500);

interface Submission {
  n: number;
  url: string;
  at: number;
  /** How long the answer took. */
  ms: number;
  status: number;
  body: any;
  contentType: string | null;
  error?: string;
}

describe('fault: PostgreSQL restarted under load', () => {
  it('503 ERR::DATABASE::UNAVAILABLE during the outage, never a 500; every accepted job delivered, no refused job stored', async () => {
    const pg = machinePostgres();
    const site = await startTestSite();
    const receiver = await startReceiver(() => ({ status: 200, body: 'ok', delayMs: HOLD_MS }));
    try {
      await withFaultStack('pg-restart', { env: { WEBHOOK_RETRY_SCHEDULE: '1s,2s,2s,2s,2s' } }, async (s) => {
        await createWebhook(s, 'load', receiver.url);
        const subs: Submission[] = [];
        let next = 0;
        let submitting = true;
        const loop = async () => {
          while (submitting) {
            const n = next++;
            const url = `${site.url}/static?n=${n}`;
            const at = Date.now();
            try {
              const r = await s.request(`/scrape?url=${encodeURIComponent(url)}&webhook_name=load`, { key: s.keys.live });
              subs.push({ n, url, at, ms: Date.now() - at, status: r.status, body: r.body, contentType: r.headers.get('content-type') });
            } catch (err) {
              subs.push({ n, url, at, ms: Date.now() - at, status: 0, body: null, contentType: null, error: (err as Error).message });
            }
            await sleep(SUBMIT_PAUSE_MS);
          }
        };
        const loops = Array.from({ length: SUBMITTERS }, loop);

        let stoppedAt = 0;
        let downAt: number;
        let heldAtStop: number;
        let acceptingAt = 0;
        let upAt = 0;
        try {
          await sleep(WARMUP_MS);
          stoppedAt = Date.now();
          heldAtStop = receiver.received.filter((r) => r.answeredAt === undefined).length;
          await pg.stop();
          downAt = Date.now();
          // pg_ctlcluster start returns a while after the server accepts connections: watch for that moment.
          const watch = (async () => {
            while (!upAt && !(await pg.ready())) await sleep(100);
            acceptingAt = Date.now();
          })();
          await sleep(OUTAGE_MS);
          await pg.start();
          upAt = Date.now();
          await watch;
          // It recovers by itself: submissions are accepted again with no restart of Hookshot.
          await until(async () => (subs.some((x) => x.at > upAt && x.status === 200) ? true : undefined), 30_000, 100);
          await sleep(AFTER_MS);
        } finally {
          submitting = false;
          await Promise.all(loops);
          if (!(await pg.ready())) await pg.start();
        }

        const accepted = subs.filter((x) => x.status === 200);
        const unavailable = subs.filter((x) => x.status === 503);
        const serverErrors = subs.filter((x) => x.status >= 500 && x.status !== 503);
        const other = subs.filter((x) => x.status !== 200 && x.status !== 503);
        const firstRefusal = Math.min(...unavailable.map((x) => x.at));
        const lastRefusal = Math.max(...unavailable.map((x) => x.at));
        const ids = accepted.map((x) => x.body.job_uuid as string);
        const open = await waitDelivered(s, ids, 90_000);

        const { rows } = await s.database.pool.query<{ id: string; url: string; status: string; content: string | null }>(
          `SELECT j.id, j.params->>'url' AS url, j.status, r.content FROM jobs j LEFT JOIN job_results r ON r.job_id = j.id`,
        );
        const byUrl = new Map(rows.map((r) => [r.url, r]));
        const refusedStored = unavailable.filter((x) => byUrl.has(x.url));
        const acceptedUrls = new Set(accepted.map((x) => x.url));
        const strays = rows.filter((r) => !acceptedUrls.has(r.url));
        const deliveries = new Map<string, any>();
        for (const r of receiver.received) {
          if (r.answeredAt !== undefined) deliveries.set(String(r.headers['x-scrapfly-webhook-job-id']), JSON.parse(r.body.toString()));
        }
        const duplicates = receiver.received.length - new Set(receiver.received.map((r) => r.headers['x-scrapfly-webhook-job-id'])).size;
        report(`PostgreSQL ${pg.cluster} restarted under load`, {
          'jobs submitted': subs.length,
          accepted: accepted.length,
          delivered: accepted.length - open.length,
          lost: open.length,
          'deliveries in flight at the stop': heldAtStop,
          'duplicates at the receiver': duplicates,
          outage: `${acceptingAt - stoppedAt} ms from the stop command to accepting connections again (the stop took ${downAt - stoppedAt} ms, the start command returned at ${upAt - stoppedAt} ms)`,
          '503s seen': `${unavailable.length}${unavailable.length ? `, from ${firstRefusal - stoppedAt} ms to ${lastRefusal - stoppedAt} ms after the stop` : ''}`,
          '500s seen': serverErrors.length,
          'slowest answer': `${Math.max(...subs.map((x) => x.ms))} ms`,
          'other answers': other.length ? JSON.stringify(other.slice(0, 5).map((x) => [x.status, x.error ?? x.body?.code])) : 0,
          'refused jobs stored': refusedStored.length,
          'rows no accepted job accounts for': strays.length,
        });

        assert.deepEqual(
          serverErrors.map((x) => [x.status, x.body]),
          [],
          'no 500 (or other 5xx but 503) while PostgreSQL restarts',
        );
        assert.deepEqual(
          other.map((x) => [x.status, x.error ?? x.body]),
          [],
          'every answer is a 200 or a 503',
        );
        assert.ok(unavailable.length > 0, 'the API saw the outage');
        for (const x of unavailable) {
          assert.equal(x.contentType, 'application/json');
          assert.equal(x.body.code, 'ERR::DATABASE::UNAVAILABLE', JSON.stringify(x.body));
          assert.equal(x.body.http_code, 503);
          assert.equal(x.body.retryable, true);
          assert.match(x.body.error_id, /^[0-9a-f-]{36}$/);
        }
        assert.ok(accepted.some((x) => x.at < stoppedAt) && accepted.some((x) => x.at > upAt), 'jobs accepted before and after the outage');
        assert.deepEqual(open, [], 'accepted jobs not delivered');
        assert.deepEqual(
          refusedStored.map((x) => x.n),
          [],
          'jobs refused with 503 that were stored anyway',
        );
        assert.deepEqual(
          strays.map((r) => r.id),
          [],
          'job rows no accepted submission accounts for',
        );
        for (const x of accepted) {
          const id = x.body.job_uuid as string;
          const row = byUrl.get(x.url);
          assert.equal(row?.id, id, `submission ${x.n}: its row`);
          const doc = deliveries.get(id);
          assert.ok(doc, `job ${id}: no delivery answered by the receiver`);
          // As recorded: the job's own parameters and the stored capture.
          assert.equal(doc.uuid, id);
          assert.equal(doc.config.url, x.url);
          assert.equal(doc.result.success, true, `job ${id}: ${JSON.stringify(doc.result.error)}`);
          assert.equal(doc.result.content, row!.content);
          assert.equal(doc.result.content, STATIC_PAGE);
        }
      });
    } finally {
      await receiver.close();
      await site.close();
      // Whatever happened above, the machine's PostgreSQL is left running.
      if (!(await pg.ready())) await pg.start();
    }
  });
});
