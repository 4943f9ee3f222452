// Many webhook entities alive at once: one long-running workflow per webhook
// (workflows/webhook.ts), started as production starts them
// (ensureWebhookEntity, which the API calls on create). The rows are inserted
// directly (the API's create would be the slow part, and is not under test).
// What N entities cost the worker process (RSS, heap, cached workflows) is
// printed; that each still answers is proven on a sample: a query, an
// update round trip through the entity to PostgreSQL (disable, enable), and
// deliveries whose outcomes the entity counts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { createTemporalClient } from '../../src/temporal/client';
import { ensureWebhookEntity, setWebhookStatus } from '../../src/temporal/webhookEntity';
import { webhookTaskQueue, webhookWorkflowId } from '../../src/shared/names';
import { webhookStateQuery } from '../../src/shared/workflowApi';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { startPageServer } from '../helpers/site';
import { until } from '../helpers/wait';
import { envInt, mb, printFigures } from '../helpers/receiverFaults';

// FAULTS_ENTITIES=10000 takes minutes on this loaded 2-core machine (a figure
// for the bench); the default fits the suite's ~90 s per test.
const ENTITIES = envInt('FAULTS_ENTITIES', 2_000);
// Starts in flight at once: what a burst of webhook creations looks like to the server.
const START_CONCURRENCY = envInt('FAULTS_ENTITY_START_CONCURRENCY', 32);
const QUERY_SAMPLE = envInt('FAULTS_ENTITY_QUERY_SAMPLE', 100);
const UPDATE_SAMPLE = envInt('FAULTS_ENTITY_UPDATE_SAMPLE', 10);
const DELIVERY_SAMPLE = envInt('FAULTS_ENTITY_DELIVERY_SAMPLE', 5);
const DISABLE_AFTER = 100;

const name = (i: number) => `e-${String(i).padStart(6, '0')}`;

/** Runs fn over items with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!);
    }),
  );
}

/** n distinct items of xs, spread over the whole range (first and last included). */
const spread = <T>(xs: T[], n: number): T[] =>
  Array.from({ length: Math.min(n, xs.length) }, (_, k) => xs[Math.round((k * (xs.length - 1)) / Math.max(1, Math.min(n, xs.length) - 1))]!);

/** RSS of the Temporal dev server this run uses, read from /proc (null when not found). */
function temporalServerRss(address: string): number | null {
  const port = address.split(':').pop();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!args.includes('start-dev') || args[args.indexOf('--port') + 1] !== port) continue;
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      return rss ? Number(rss[1]) * 1024 : null;
    } catch {
      /* gone meanwhile */
    }
  }
  return null;
}

// temporal.api.enums.v1.TaskQueueType (@temporalio/proto is not a dependency of ours).
const TASK_QUEUE_TYPE_WORKFLOW = 1;

/** Workflow tasks waiting in a task queue for a worker (the server's approximate count). */
async function workflowBacklog(client: Client, taskQueue: string): Promise<number> {
  const r = await client.workflowService.describeTaskQueue({
    namespace: 'default',
    taskQueue: { name: taskQueue },
    taskQueueType: TASK_QUEUE_TYPE_WORKFLOW,
    reportStats: true,
  });
  return Number(r.stats?.approximateBacklogCount ?? 0);
}

describe(`${ENTITIES} webhook entities alive at once`, () => {
  let hs: TestHookshot;
  let client: Client;
  let site: Awaited<ReturnType<typeof startPageServer>>;
  before(async () => {
    site = await startPageServer();
    hs = await startTestHookshot({ WEBHOOK_DISABLE_AFTER: String(DISABLE_AFTER) });
    client = await createTemporalClient(hs.temporalAddress, 'default');
  });
  after(async () => {
    // The entities stay in the shared server, idle, as every other test's do:
    // they have no timers, so with their worker gone they cost it no work, and
    // terminating them would free nothing (the test server keeps closed
    // workflows too) while taking ~25 s for 2,000 here.
    await client?.connection.close();
    await hs?.close();
    await site?.close();
  });

  it('every entity runs, and entities spread over the set answer queries, update round trips and deliveries', async () => {
    const receiver = await startReceiver();
    try {
      const { rows: ids } = await hs.db.query<{ id: string }>(
        `INSERT INTO webhooks (id, project_id, env, name, url, signing_secret)
         SELECT gen_random_uuid(), p.id, 'live', 'e-' || lpad(i::text, 6, '0'), $1, md5(random()::text) || md5(random()::text)
           FROM projects p, generate_series(0, $2 - 1) i WHERE p.name = 'default'
         RETURNING id`,
        [receiver.url, ENTITIES],
      );
      assert.equal(ids.length, ENTITIES);
      const order = (await hs.db.query<{ id: string }>(`SELECT id FROM webhooks ORDER BY name`)).rows.map((r) => r.id);

      const worker = hs.workers.find((w) => w.options.taskQueue === webhookTaskQueue(hs.taskQueue))!;
      const before = { ...process.memoryUsage(), cached: worker.getStatus().numCachedWorkflows, server: temporalServerRss(hs.temporalAddress) };

      const t0 = Date.now();
      await pool(order, START_CONCURRENCY, async (id) => {
        await ensureWebhookEntity(client, hs.taskQueue, id, DISABLE_AFTER);
      });
      const startedMs = Date.now() - t0;
      // Running in the server's eyes, and every first task (which loads the stored state) done in the worker's.
      const running = await until(
        async () => {
          const { count } = await client.workflow.count(`TaskQueue = '${webhookTaskQueue(hs.taskQueue)}' AND ExecutionStatus = 'Running'`);
          return count >= ENTITIES ? count : undefined;
        },
        60_000 + ENTITIES * 10,
        500,
      );
      let idleChecks = 0;
      await until(
        async () => {
          const idle =
            worker.getStatus().numInFlightWorkflowActivations === 0 && (await workflowBacklog(client, webhookTaskQueue(hs.taskQueue))) === 0;
          idleChecks = idle ? idleChecks + 1 : 0;
          return idleChecks >= 3 ? true : undefined;
        },
        60_000 + ENTITIES * 50,
        250,
      );
      const settledMs = Date.now() - t0;
      const afterStart = { ...process.memoryUsage(), cached: worker.getStatus().numCachedWorkflows, server: temporalServerRss(hs.temporalAddress) };

      // A query each, on entities spread over the whole set (most are out of the worker's cache: replayed to answer).
      const t1 = Date.now();
      const queried = spread(order, QUERY_SAMPLE);
      const states = await Promise.all(queried.map((id) => client.workflow.getHandle(webhookWorkflowId(id)).query(webhookStateQuery)));
      const queryMs = Date.now() - t1;

      // An update round trip: through the entity, stored in PostgreSQL, answered.
      const t2 = Date.now();
      const updated = spread(order.slice(1, -1), UPDATE_SAMPLE);
      for (const id of updated) {
        const off = await setWebhookStatus(client, hs.taskQueue, id, DISABLE_AFTER, { status: 'disabled' });
        assert.equal(off.status, 'disabled');
        const stored = await hs.db.query<{ status: string }>(`SELECT status FROM webhooks WHERE id = $1`, [id]);
        assert.equal(stored.rows[0]!.status, 'disabled');
        const on = await setWebhookStatus(client, hs.taskQueue, id, DISABLE_AFTER, { status: 'enabled' });
        assert.equal(on.status, 'enabled');
      }
      const updateMs = Date.now() - t2;

      // Deliveries through a few entities: each outcome reaches its entity.
      await hs.api('/admin/projects/default', { method: 'PATCH', headers: { authorization: `Bearer ${ADMIN_TOKEN}` }, json: { plan: 'ENTERPRISE' } });
      const delivering = spread(
        order.map((id, i) => ({ id, i })),
        DELIVERY_SAMPLE,
      );
      const jobs = await Promise.all(
        delivering.map(({ i }) => hs.api(`/scrape?url=${encodeURIComponent(site.url)}&webhook_name=${name(i)}`, { key: hs.keys.live })),
      );
      for (const j of jobs) assert.equal(j.status, 200, JSON.stringify(j.body));
      await receiver.waitFor(DELIVERY_SAMPLE, 60_000);
      const counted = await until(
        async () => {
          const s = await Promise.all(delivering.map(({ id }) => client.workflow.getHandle(webhookWorkflowId(id)).query(webhookStateQuery)));
          return s.every((x) => x.outcomesApplied === 1) ? s : undefined;
        },
        30_000,
        250,
      );
      const end = { ...process.memoryUsage(), cached: worker.getStatus().numCachedWorkflows, server: temporalServerRss(hs.temporalAddress) };
      const jobIds = new Set(jobs.map((j) => j.body.job_uuid));
      const receivedIds = receiver.received.map((r) => String(r.headers['x-scrapfly-webhook-job-id']));

      const perEntity = (a: number, b: number) => `${((b - a) / ENTITIES / 1024).toFixed(1)} KB per entity`;
      printFigures(`fault: ${ENTITIES} webhook entities alive at once`, {
        entities: `${ENTITIES} (running in the server: ${running})`,
        'started in': `${(startedMs / 1000).toFixed(1)} s (${Math.round(ENTITIES / (startedMs / 1000))} starts/s, ${START_CONCURRENCY} in flight)`,
        'first tasks drained after': `${(settledMs / 1000).toFixed(1)} s (workflow backlog 0, nothing in flight)`,
        'worker RSS before / after / end': `${mb(before.rss)} / ${mb(afterStart.rss)} / ${mb(end.rss)} (${perEntity(before.rss, afterStart.rss)})`,
        'worker heap used before / after / end': `${mb(before.heapUsed)} / ${mb(afterStart.heapUsed)} / ${mb(end.heapUsed)}`,
        'cached workflows (entity worker)': `${before.cached} / ${afterStart.cached} / ${end.cached} (cache limit ${worker.options.maxCachedWorkflows})`,
        'Temporal dev server RSS before / after':
          before.server && afterStart.server
            ? `${mb(before.server)} / ${mb(afterStart.server)} (${perEntity(before.server, afterStart.server)})`
            : 'not found',
        'queries answered': `${states.length} of ${queried.length} in ${queryMs} ms`,
        'update round trips (disable + enable)': `${updated.length * 2} in ${updateMs} ms`,
        'jobs submitted / delivered / lost': `${jobs.length} / ${receiver.received.length} / ${jobs.length - new Set(receivedIds).size}`,
        'duplicates at the receiver': receivedIds.length - new Set(receivedIds).size,
      });

      assert.equal(running, ENTITIES);
      for (const [k, s] of states.entries()) {
        assert.equal(s.webhookId, queried[k]);
        assert.deepEqual([s.status, s.consecutiveFailedCount, s.disableAfter], ['enabled', 0, DISABLE_AFTER]);
      }
      assert.deepEqual(new Set(receivedIds), jobIds);
      assert.equal(receivedIds.length, jobIds.size);
      for (const s of counted) assert.deepEqual([s.outcomesApplied, s.consecutiveFailedCount], [1, 0]);
    } finally {
      await receiver.close();
    }
  });
});
