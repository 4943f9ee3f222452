// A flood of concurrent failures on one webhook, the strict version of
// test/e2e/flood.test.ts: many more jobs than the threshold fail at once.
// Proven from both sides, the receiver's clock and the database's: the
// webhook is disabled when the count reaches the threshold and not before,
// the count stays at the threshold, every request the receiver got is an
// attempt row (none unrecorded, none twice), every attempt that reached the
// receiver passed the gate before the disable was stored (those still on
// the wire at that moment are counted apart), the entity counted each
// failure once, and every job ends as ERR::WEBHOOK::DISABLED (SPEC 5:
// pending retries stop as DISABLED). Two ladders: a short one, where retries
// race the disable, and a long one, where jobs asleep on it must be woken.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createTemporalClient } from '../../src/temporal/client';
import { webhookWorkflowId } from '../../src/shared/names';
import { webhookStateQuery } from '../../src/shared/workflowApi';
import { ADMIN_TOKEN, startTestHookshot } from '../helpers/hookshot';
import { startPageServer } from '../helpers/site';
import { until } from '../helpers/wait';
import { jobOutcomes, sendsAround } from '../helpers/flood';
import { envInt, printFigures, startStampingReceiver } from '../helpers/receiverFaults';

const JOBS = envInt('FAULTS_FLOOD_JOBS', 200);
const THRESHOLD = envInt('FAULTS_FLOOD_DISABLE_AFTER', 20);
// The receiver takes this long to answer its 500: attempts are on the wire when the disable lands.
const RESPONSE_DELAY_MS = envInt('FAULTS_FLOOD_RESPONSE_DELAY_MS', 200);
const DISABLED = 'ERR::WEBHOOK::DISABLED';

const LADDERS = [
  { name: 'short ladder (retries race the disable)', schedule: '50ms,50ms,50ms,50ms,50ms,50ms' },
  { name: 'long ladder (sleeping jobs are woken by the disable)', schedule: '1h,1h,1h,1h,1h,1h' },
];

describe('a flood of concurrent failures on one webhook', () => {
  let site: Awaited<ReturnType<typeof startPageServer>>;
  before(async () => {
    site = await startPageServer();
  });
  after(async () => {
    await site?.close();
  });

  for (const ladder of LADDERS) {
    it(`${JOBS} jobs failing at once, threshold ${THRESHOLD}, ${ladder.name}: disabled at exactly ${THRESHOLD}, nothing sent after`, async () => {
      const receiver = await startStampingReceiver(500, RESPONSE_DELAY_MS);
      const hs = await startTestHookshot({ WEBHOOK_DISABLE_AFTER: String(THRESHOLD), WEBHOOK_RETRY_SCHEDULE: ladder.schedule });
      const client = await createTemporalClient(hs.temporalAddress, 'default');
      try {
        await hs.api('/admin/projects/default', {
          method: 'PATCH',
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
          json: { plan: 'ENTERPRISE' },
        });
        const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'down', url: receiver.url } });
        assert.equal(w.status, 201);
        const webhookId: string = w.body.uuid;
        const submitted = await Promise.all(
          Array.from({ length: JOBS }, () => hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=down`, { key: hs.keys.live })),
        );
        for (const j of submitted) assert.equal(j.status, 200, JSON.stringify(j.body));
        const jobIds = new Set(submitted.map((j) => j.body.job_uuid as string));

        const outcomes = await until(
          async () => {
            const o = await jobOutcomes(hs, webhookId);
            return o.reduce((n, r) => n + (r.delivery_status === 'failed' ? r.n : 0), 0) === JOBS ? o : undefined;
          },
          180_000,
          250,
        );

        const sends = await sendsAround(hs, webhookId);
        const disabledAt = sends.disabled_at!;
        const { rows: attempts } = await hs.db.query<{
          job_id: string;
          series: number;
          attempt: number;
          started_at: Date;
          created_at: Date;
          status_code: number | null;
          error_code: string | null;
        }>(
          `SELECT job_id, series, attempt, started_at, created_at, status_code, error_code FROM delivery_attempts WHERE webhook_id = $1 ORDER BY job_id, series, attempt`,
          [webhookId],
        );
        const sent = attempts.filter((a) => a.status_code !== null);
        const gateStopped = attempts.filter((a) => a.error_code === DISABLED);
        // A failure is counted by the entity after its row is written: the disable
        // cannot be stored before THRESHOLD failed attempts were.
        const failedBeforeDisable = sent.filter((a) => a.created_at < disabledAt).length;

        // Receiver requests and sent attempt rows, job by job, in order.
        const byJob = new Map<string, { requests: number[]; rows: typeof sent }>();
        const entry = (id: string) => byJob.get(id) ?? (byJob.set(id, { requests: [], rows: [] }), byJob.get(id)!);
        for (const r of receiver.received) entry(r.jobId).requests.push(r.at);
        for (const a of sent) entry(a.job_id).rows.push(a);
        let unrecorded = 0;
        let unreceived = 0;
        let arrivedAfter = 0;
        let latestArrivalMs = 0;
        for (const { requests, rows } of byJob.values()) {
          unrecorded += Math.max(0, requests.length - rows.length);
          unreceived += Math.max(0, rows.length - requests.length);
          for (const at of requests) {
            if (at >= disabledAt.getTime()) {
              arrivedAfter++;
              latestArrivalMs = Math.max(latestArrivalMs, at - disabledAt.getTime());
            }
          }
        }
        const gatedAfter = sent.filter((a) => a.started_at >= disabledAt).length;
        // On the wire when the disable was stored: arrived before it, answered after it.
        const onTheWire = receiver.received.filter((r) => r.at < disabledAt.getTime() && (r.answeredAt ?? Infinity) >= disabledAt.getTime()).length;
        const firstAt = Math.min(...receiver.received.map((r) => r.at));

        // Every failure reached the entity once: all were reported before their jobs ended.
        const handle = client.workflow.getHandle(webhookWorkflowId(webhookId));
        const state = await until(
          async () => {
            const s = await handle.query(webhookStateQuery);
            return s.outcomesApplied >= sent.length ? s : undefined;
          },
          30_000,
          200,
        ).catch(() => handle.query(webhookStateQuery));
        const row = (await hs.api('/webhooks/down', { key: hs.keys.live })).body;
        const notes = (await hs.db.query(`SELECT kind, details FROM notifications WHERE webhook_id = $1 ORDER BY id`, [webhookId])).rows;

        printFigures(`fault: flood of failures on one webhook, ${ladder.name}, receiver answers 500 after ${RESPONSE_DELAY_MS} ms`, {
          'jobs submitted': JOBS,
          delivered: 0,
          'jobs ended': outcomes.map((o) => `${o.n} ${o.delivery_status} ${o.error_code}`).join(', '),
          lost: JOBS - outcomes.reduce((n, o) => n + o.n, 0),
          'requests at the receiver': receiver.received.length,
          'sent attempt rows': sent.length,
          'duplicates at the receiver (unrecorded sends)': unrecorded,
          'threshold / stored count / entity count': `${THRESHOLD} / ${row.consecutive_failed_count} / ${state.consecutiveFailedCount}`,
          'failures the entity applied': `${state.outcomesApplied} (the sends: ${sent.length})`,
          'failed attempts stored before the disable': failedBeforeDisable,
          'disable stored': `${new Date(disabledAt).toISOString()}, ${disabledAt.getTime() - firstAt} ms after the first request`,
          'attempts gated after the disable': gatedAfter,
          'in flight at the disable (arrived before, answered after)': onTheWire,
          'requests arriving after the disable (gate passed before)': `${arrivedAfter}${arrivedAfter ? `, the latest ${latestArrivalMs} ms after it` : ''}`,
          'attempts stopped at the gate (nothing sent)': gateStopped.length,
          'jobs that never sent': JOBS - new Set(sent.map((a) => a.job_id)).size,
          notifications: notes.map((n) => `${n.kind}:${n.details.count}`).join(', '),
        });

        // Every job ended, stopped by the disable.
        assert.deepEqual(outcomes, [{ error_code: DISABLED, delivery_status: 'failed', n: JOBS }]);
        assert.ok(
          [...byJob.keys()].every((id) => jobIds.has(id)),
          'requests only for submitted jobs',
        );
        // Disabled when the count reached the threshold: not before, and frozen there.
        assert.deepEqual([row.status, row.disabled_reason], ['disabled', 'consecutive_failures']);
        assert.equal(row.consecutive_failed_count, THRESHOLD);
        assert.equal(state.status, 'disabled');
        assert.equal(state.consecutiveFailedCount, THRESHOLD);
        assert.ok(failedBeforeDisable >= THRESHOLD, `only ${failedBeforeDisable} failures stored before the disable`);
        assert.deepEqual(
          notes.map((n) => `${n.kind}:${n.details.count}`),
          [`webhook.warning:${Math.ceil(THRESHOLD * 0.5)}`, `webhook.warning:${Math.ceil(THRESHOLD * 0.9)}`, `webhook.disabled:${THRESHOLD}`],
        );
        // Each failure counted once, none lost on the way to the entity.
        assert.equal(state.outcomesApplied, sent.length);
        // Both sides agree on every send, job by job.
        assert.equal(unrecorded, 0, 'every request at the receiver is an attempt row');
        assert.equal(unreceived, 0, 'every sent attempt row reached the receiver');
        assert.equal(receiver.received.length, sent.length);
        // No attempt started after the disable was stored: each send passed the gate before it.
        assert.equal(gatedAfter, 0);
        assert.equal(sends.after_disable, 0);
        // The disable cut the flood short: without it every job would walk its ladder.
        assert.ok(sent.length < JOBS * 7, `${sent.length} sends`);
      } finally {
        await client.connection.close();
        await hs.close();
        await receiver.close();
      }
    });
  }
});
