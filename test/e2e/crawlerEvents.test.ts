// A Scrapfly crawler's webhook events on its named webhook, end to end: the
// crawler's events are stored by the repository's own transactions (start,
// pages, end) as the crawl workflow stores them, then sent by the whole
// service (real Temporal, PostgreSQL) to a loopback receiver. Checked with
// the official SDK's receiver helpers (parseCrawlerWebhook, verifySignature),
// the standardwebhooks library and an independent Python verifier; the
// webhook's entity counts the attempts, disables the webhook at its
// threshold, and replays the failed events once it is enabled again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@temporalio/client';
import { historyToJSON, type History } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { parseCrawlerWebhook, verifySignature } from 'scrapfly-sdk';
import { Webhook as StandardWebhook } from 'standardwebhooks';
import { canonicalUrl } from '../../src/crawl/urls';
import { withTransaction } from '../../src/db/pool';
import { claimPages, getPage } from '../../src/db/repositories/crawlPages';
import { finishCrawl, finishPage, insertCrawl, startCrawlEvents } from '../../src/db/repositories/crawls';
import { CRAWLER_EVENTS, CRAWLER_TERMINAL_EVENTS, crawlEventsWorkflowId, eventDeliveryWorkflowId, webhookWorkflowId } from '../../src/shared/names';
import type { CrawlerEvent } from '../../src/shared/names';
import type { CrawlEventsWorkflowInput } from '../../src/shared/contracts/crawl';
import { webhookStateQuery } from '../../src/shared/workflowApi';
import { createTemporalClient } from '../../src/temporal/client';
import { buildCrawlEventsInput } from '../../src/temporal/crawlInput';
import { WORKFLOW_BUNDLE } from '../../src/worker/worker';
import { repoRoot } from '../../src/repoRoot';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver, type Received, type Responder } from '../helpers/receiver';
import { verifyWithPython } from '../helpers/verify';
import { until } from '../helpers/wait';

const DISABLE_AFTER = 4;
const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'histories');
const whenTrue = (cond: () => boolean | Promise<boolean>, ms = 60_000) => until(async () => ((await cond()) ? true : undefined), ms, 50);

/** The body as signed: deliveries to a gzip webhook are decompressed first, as a receiver does. */
const raw = (r: Received) => (r.headers['content-encoding'] === 'gzip' ? gunzipSync(r.body) : r.body);
const parsed = (r: Received) => JSON.parse(raw(r).toString('utf8'));
const header = (r: Received, name: string) => {
  const v = r.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

interface StoredEvent {
  id: string;
  seq: number;
  event: string;
  body: Buffer;
  delivery_status: string;
}

describe('Scrapfly crawler events on a named webhook', () => {
  let hs: TestHookshot;
  let client: Client;
  let projectId: string;
  let projectName: string;
  before(async () => {
    // Three attempts an event (two waits), and a webhook disabled after DISABLE_AFTER failures in a row.
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '100ms,100ms', WEBHOOK_RETRY_JITTER: '0', WEBHOOK_DISABLE_AFTER: String(DISABLE_AFTER) });
    client = await createTemporalClient(hs.temporalAddress, 'default');
    const { rows } = await hs.database.pool.query<{ id: string; name: string }>('SELECT id, name FROM projects LIMIT 1');
    projectId = rows[0]!.id;
    projectName = rows[0]!.name;
  });
  after(async () => {
    await client?.connection.close();
    await hs?.close();
  });

  const createWebhook = async (json: Record<string, unknown>) => {
    const res = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body as { uuid: string; name: string; signing_secret: string };
  };
  const webhookRow = async (name: string) => (await hs.api(`/webhooks/${name}`, { key: hs.keys.live })).body;

  /**
   * A crawler on `webhook` asking for every event: three pages visited (the
   * first finds a link, which is discovered and then fails, and one
   * external link, skipped), then finished. The repository stores the
   * events as the crawl would; the events workflow is started as the crawl
   * starts it. Returns the crawler's uuid and its stored events in order.
   */
  const runCrawler = async (
    webhook: { uuid: string; name: string },
    o: { events?: readonly CrawlerEvent[]; input?: Partial<CrawlEventsWorkflowInput> } = {},
  ): Promise<{ id: string; events: StoredEvent[] }> => {
    const id = randomUUID();
    const base = 'http://crawl.test';
    const urls = [`${base}/`, `${base}/a`, `${base}/b`];
    const pool = hs.database.pool;
    await withTransaction(pool, (c) =>
      insertCrawl(
        c,
        {
          id,
          project_id: projectId,
          env: 'live',
          kind: 'crawler',
          api_version: 0,
          url: urls[0]!,
          options: {
            scope: { pathSyntax: 'wildcard' },
            formats: [],
            onlyMainContent: false,
            ignoreRobotsTxt: true,
            sitemap: 'skip',
            ignoreQueryParameters: false,
            maxConcurrency: null,
            robotsUserAgent: null,
            headers: {},
            timeoutMs: null,
            crawler: {
              formats: ['markdown'],
              events: [...(o.events ?? CRAWLER_EVENTS)],
              discover: true,
              maxDurationMs: 900_000,
              delayMs: 0,
              renderingDelayMs: 0,
              ignoreNoFollow: false,
              seedUrl: urls[0]!,
              projectName,
              apiBase: hs.apiUrl,
            },
          },
          webhook: null,
          page_limit: urls.length + 1,
          expires_at: new Date(Date.now() + 3600_000),
          webhook_id: webhook.uuid,
          webhook_name: webhook.name,
        },
        urls.map((url) => ({ url, canonical: canonicalUrl(url)!, depth: 0 })),
      ),
    );
    await startCrawlEvents(pool, id, []);
    const finish = async (pageId: number, ok: boolean, extra: { links?: string[]; skipped?: string[] } = {}) => {
      const page = (await getPage(pool, pageId))!;
      await finishPage(pool, {
        crawlId: id,
        pageId,
        ok,
        statusCode: ok ? 200 : 500,
        document: {
          metadata: { sourceURL: page.url, url: page.url, statusCode: ok ? 200 : 500 },
          ...(ok ? { content: { markdown: `# ${page.url}` } } : {}),
        },
        error: ok ? null : 'HTTP 500',
        errorCode: ok ? null : 'ERR::SCRAPE::BAD_UPSTREAM_RESPONSE',
        links: (extra.links ?? []).map((url) => ({ url, canonical: canonicalUrl(url)!, depth: 1 })),
        skipped: (extra.skipped ?? []).map((url) => ({ url, canonical: canonicalUrl(url)!, reason: 'external_domain' })),
      });
    };
    const seeds = await claimPages(pool, id, urls.length, []);
    assert.equal(seeds.length, urls.length);
    await finish(seeds[0]!, true, { links: [`${base}/c`], skipped: ['http://elsewhere.test/x'] });
    for (const pageId of seeds.slice(1)) await finish(pageId, true);
    const [found] = await claimPages(pool, id, 1, []);
    await finish(found!, false);
    await finishCrawl(pool, id, { status: 'completed', error: null, stopReason: 'no_more_urls' });

    await client.workflow.start('crawlEventsWorkflow', {
      workflowId: crawlEventsWorkflowId(id),
      taskQueue: hs.taskQueue,
      args: [{ ...buildCrawlEventsInput(hs.config, id), ...o.input }],
    });
    return { id, events: await storedEvents(id) };
  };

  const storedEvents = async (crawlId: string) =>
    (
      await hs.database.pool.query<StoredEvent>('SELECT id, seq, event, body, delivery_status FROM crawl_events WHERE crawl_id = $1 ORDER BY seq', [
        crawlId,
      ])
    ).rows;

  it('sends every event signed, with Scrapfly headers, in order, retried with the same bytes, counted by the entity', async () => {
    // The first crawler_url_visited fails twice, then is taken.
    let failing: string | undefined;
    let failures = 0;
    const respond: Responder = (r) => {
      const msg = header(r, 'webhook-id');
      if (failing === undefined && header(r, 'x-scrapfly-crawl-event-name') === 'crawler_url_visited') failing = msg;
      if (msg === failing && failures < 2) {
        failures++;
        return { status: 503 };
      }
      return { status: 200 };
    };
    const rx = await startReceiver(respond);
    try {
      // msgpack is asked for; crawler events are JSON all the same (the SDK parses JSON).
      const w = await createWebhook({
        name: 'crawler-ok',
        url: `${rx.url}/in`,
        secret: 'shared-secret',
        content_type: 'application/msgpack',
        content_encoding: 'gzip',
        standard_webhooks: true,
      });
      const { id, events } = await runCrawler(w);
      const names = events.map((e) => e.event);
      assert.deepEqual(names, [
        'crawler_started',
        'crawler_url_visited',
        'crawler_url_discovered',
        'crawler_url_skipped',
        'crawler_url_visited',
        'crawler_url_visited',
        'crawler_url_failed',
        'crawler_finished',
      ]);
      await whenTrue(async () => (await storedEvents(id)).every((e) => e.delivery_status === 'delivered'));
      assert.equal(rx.received.length, events.length + 2, 'every event once, the failing one three times');

      const sw = new StandardWebhook(w.signing_secret);
      const byEvent = new Map(events.map((e) => [`msg_${e.id}`, e]));
      for (const r of rx.received) {
        const body = raw(r);
        // The SDK's own receiver helpers accept every delivery.
        const hook = parseCrawlerWebhook(JSON.parse(body.toString('utf8')));
        assert.equal(hook.payload.crawler_uuid, id);
        assert.ok(verifySignature(body, String(header(r, 'x-scrapfly-webhook-signature')), w.signing_secret));
        assert.ok(verifySignature(body, String(header(r, 'x-scrapfly-webhook-signature-lowercase')), w.signing_secret));
        // Headers: the crawler's uuid as the job id, the event's name, the resource type; no job log.
        assert.equal(header(r, 'x-scrapfly-crawl-event-name'), hook.event);
        assert.equal(header(r, 'x-scrapfly-webhook-resource-type'), 'crawler');
        assert.equal(header(r, 'x-scrapfly-webhook-job-id'), id);
        assert.equal(header(r, 'content-type'), 'application/json');
        assert.equal(header(r, 'content-encoding'), 'gzip');
        assert.equal(header(r, 'x-scrapfly-webhook-name'), 'crawler-ok');
        assert.equal(header(r, 'x-scrapfly-webhook-env'), 'live');
        assert.equal(header(r, 'x-scrapfly-webhook-project'), projectName);
        assert.equal(header(r, 'x-scrapfly-webhook-secret'), 'shared-secret');
        assert.equal(header(r, 'x-scrapfly-log-uuid'), undefined);
        assert.equal(header(r, 'x-scrapfly-log-url'), undefined);
        assert.equal(r.url, '/in');
        // Standard Webhooks: one message id per event, verified by the library.
        const stored = byEvent.get(String(header(r, 'webhook-id')));
        assert.ok(stored, `webhook-id ${header(r, 'webhook-id')} names a stored event`);
        assert.ok(body.equals(stored.body), 'the stored bytes, as emitted');
        sw.verify(body.toString('utf8'), {
          'webhook-id': String(header(r, 'webhook-id')),
          'webhook-timestamp': String(header(r, 'webhook-timestamp')),
          'webhook-signature': String(header(r, 'webhook-signature')),
        });
      }
      assert.equal(new Set(rx.received.map((r) => header(r, 'webhook-id'))).size, events.length, 'webhook-id is unique per event');
      // The independent verifier agrees on a sample.
      const first = rx.received[0]!;
      assert.ok((await verifyWithPython(w.signing_secret, raw(first), String(header(first, 'x-scrapfly-webhook-signature')))).ok);

      // The failing event came three times with the same bytes.
      const copies = rx.received.filter((r) => header(r, 'webhook-id') === failing);
      assert.equal(copies.length, 3);
      assert.ok(copies.every((c) => raw(c).equals(raw(copies[0]!))));

      // Order: crawler_started first; the terminal event after every other event's first attempt.
      const firstSeen = new Map<string, number>();
      rx.received.forEach((r, i) => firstSeen.has(String(header(r, 'webhook-id'))) || firstSeen.set(String(header(r, 'webhook-id')), i));
      assert.equal(parsed(rx.received[0]!).event, 'crawler_started');
      const terminal = events.at(-1)!;
      assert.ok(CRAWLER_TERMINAL_EVENTS.includes(terminal.event as CrawlerEvent));
      assert.equal(firstSeen.get(`msg_${terminal.id}`), Math.max(...firstSeen.values()), 'the terminal event was first sent last');

      // Attempts are in the webhook's log, and every one was counted by its entity.
      const { rows: attempts } = await hs.database.pool.query<{ event_id: string; webhook_id: string; attempt: number; success: boolean }>(
        'SELECT a.event_id, a.webhook_id, a.attempt, a.success FROM delivery_attempts a JOIN crawl_events e ON e.id = a.event_id WHERE e.crawl_id = $1',
        [id],
      );
      assert.equal(attempts.length, rx.received.length);
      assert.ok(attempts.every((a) => a.webhook_id === w.uuid));
      const deliveries = await hs.api('/webhooks/crawler-ok/deliveries?limit=100', { key: hs.keys.live });
      assert.equal(deliveries.body.data.length, attempts.length);
      await whenTrue(
        async () => (await client.workflow.getHandle(webhookWorkflowId(w.uuid)).query(webhookStateQuery)).outcomesApplied === attempts.length,
      );
      const state = await client.workflow.getHandle(webhookWorkflowId(w.uuid)).query(webhookStateQuery);
      assert.equal(state.status, 'enabled');
      assert.equal(state.consecutiveFailedCount, 0, 'the successes after the failures reset the count');
    } finally {
      await rx.close();
    }
  });

  it('a failing receiver is counted and auto-disabled; nothing is sent after; a replay after re-enabling delivers the failed events', async () => {
    let down = true;
    const rx = await startReceiver(() => (down ? { status: 500 } : { status: 200 }));
    try {
      const w = await createWebhook({ name: 'crawler-down', url: rx.url });
      // The retry waits an hour: only a wake (the webhook was disabled) ends those retries within the test.
      const { id, events } = await runCrawler(w, { input: { retryScheduleMs: [3_600_000] } });

      // Every event's delivery ends (failed), none asleep on the ladder, every retry workflow closed.
      await whenTrue(async () => (await storedEvents(id)).every((e) => e.delivery_status === 'failed'));
      let woken = 0;
      let wokenHistory: History | undefined;
      for (const e of events) {
        // Events whose first attempt was sent and failed went to their retry workflow, asleep for an hour.
        const handle = client.workflow.getHandle(eventDeliveryWorkflowId(e.id));
        const started = await handle.describe().then(
          () => true,
          () => false,
        );
        if (!started) continue;
        assert.deepEqual(await handle.result(), { delivered: false, attempts: 2, stopped: 'ERR::WEBHOOK::DISABLED' });
        if (woken++ === 0) wokenHistory = await handle.fetchHistory();
      }
      assert.ok(woken >= DISABLE_AFTER, `${woken} retry workflows woken and stopped`);
      const disabled = await webhookRow('crawler-down');
      assert.equal(disabled.status, 'disabled');
      assert.equal(disabled.disabled_reason, 'consecutive_failures');
      assert.equal(disabled.consecutive_failed_count, DISABLE_AFTER, 'frozen at the threshold');
      const notices = await hs.api('/notifications', { key: hs.keys.live });
      assert.ok(notices.body.notifications.some((n: any) => n.kind === 'disabled' && n.webhook_name === 'crawler-down'));

      // Every attempt that reached the receiver started before the disable; the rest were stopped at the gate.
      const { rows: attempts } = await hs.database.pool.query<{ started_at: Date; error_code: string; series: number }>(
        'SELECT a.event_id, a.attempt, a.started_at, a.error_code, a.series FROM delivery_attempts a JOIN crawl_events e ON e.id = a.event_id WHERE e.crawl_id = $1',
        [id],
      );
      const disabledAt = new Date(disabled.disabled_at);
      const sent = attempts.filter((a) => a.error_code !== 'ERR::WEBHOOK::DISABLED');
      assert.equal(sent.length, rx.received.length, 'each attempt sent is one request received');
      assert.ok(sent.length >= DISABLE_AFTER);
      assert.ok(
        sent.every((a) => a.started_at < disabledAt),
        'no attempt was sent after the disable',
      );
      assert.ok(
        attempts.some((a) => a.error_code === 'ERR::WEBHOOK::DISABLED'),
        'retries (or later first attempts) ended at the gate',
      );
      const receivedBefore = rx.received.length;

      // A replay is refused while disabled; after enabling, it sends every failed event again, a new series.
      const refused = await hs.api('/webhooks/crawler-down/replay', { method: 'POST', key: hs.keys.live });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
      assert.equal(refused.body.code, 'ERR::WEBHOOK::DISABLED');
      down = false;
      assert.equal((await hs.api('/webhooks/crawler-down/enable', { method: 'POST', key: hs.keys.live })).status, 200);
      const replay = await hs.api('/webhooks/crawler-down/replay', { method: 'POST', key: hs.keys.live });
      assert.equal(replay.status, 202, JSON.stringify(replay.body));
      assert.equal(replay.body.failed_deliveries, events.length);
      await whenTrue(async () => (await storedEvents(id)).every((e) => e.delivery_status === 'delivered'));

      const replayed = rx.received.slice(receivedBefore);
      assert.equal(replayed.length, events.length, 'each failed event once more');
      assert.deepEqual(new Set(replayed.map((r) => parsed(r).event)), new Set(events.map((e) => e.event)));
      for (const r of replayed) {
        const hook = parseCrawlerWebhook(JSON.parse(raw(r).toString('utf8')));
        assert.ok(verifySignature(raw(r), String(header(r, 'x-scrapfly-webhook-signature')), w.signing_secret));
        assert.equal(header(r, 'x-scrapfly-crawl-event-name'), hook.event);
        assert.ok(
          events.some((e) => e.body.equals(raw(r))),
          'the same bytes as the event stored',
        );
      }
      const { rows: series } = await hs.database.pool.query<{ series: number; attempt: number; success: boolean }>(
        `SELECT a.series, a.attempt, a.success FROM delivery_attempts a JOIN crawl_events e ON e.id = a.event_id
          WHERE e.crawl_id = $1 AND a.series > 0`,
        [id],
      );
      assert.equal(series.length, events.length);
      assert.ok(series.every((a) => a.series === 1 && a.attempt === 1 && a.success));
      const after = await webhookRow('crawler-down');
      assert.equal(after.status, 'enabled');

      // Both new shapes of an event's retry workflow replay against the bundle (and are kept as fixtures with RECORD_HISTORIES=<tag>).
      const replayedHistory = await until(async () => {
        const h = await client.workflow.getHandle(eventDeliveryWorkflowId(events[0]!.id)).fetchHistory();
        return h.events?.some((e) => e.workflowExecutionCompletedEventAttributes) ? h : undefined;
      });
      const bundle = { workflowBundle: { codePath: WORKFLOW_BUNDLE } };
      await Worker.runReplayHistory(bundle, wokenHistory!);
      await Worker.runReplayHistory(bundle, replayedHistory);
      const tag = process.env.RECORD_HISTORIES;
      if (tag) {
        writeFileSync(path.join(FIXTURES, `event-woken-by-disable-${tag}.json`), historyToJSON(wokenHistory!));
        writeFileSync(path.join(FIXTURES, `event-replay-series-${tag}.json`), historyToJSON(replayedHistory));
      }
    } finally {
      await rx.close();
    }
  });
});
