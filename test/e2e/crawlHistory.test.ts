// A crawl keeps every Temporal history small however many pages it has: the
// crawl and its events continue as new every CRAWL_PAGES_PER_RUN pages (20
// here, 500 by default; the bench crawls 2,000 pages). The fresh histories
// also replay against the bundle, and RECORD_HISTORIES=<tag> keeps them as
// fixtures for test/unit/workflows/replayHistories.test.ts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import { createTemporalClient } from '../../src/temporal/client';
import { WORKFLOW_BUNDLE } from '../../src/worker/worker';
import { repoRoot } from '../../src/repoRoot';
import { crawlEventsWorkflowId, crawlWorkflowId, eventDeliveryWorkflowId } from '../../src/shared/names';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startCrawlSite, type CrawlSite } from '../helpers/crawlSite';
import { startHttpsReceiver } from '../helpers/httpsReceiver';
import { until } from '../helpers/wait';

const FIXTURES = path.join(repoRoot(), 'test', 'fixtures', 'histories');

/** Every run of a workflow id, oldest first, with its history length. */
async function runsOf(client: Client, workflowId: string) {
  const runs: Array<{ runId: string; events: number }> = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = "${workflowId}"` })) {
    runs.push({ runId: w.runId, events: w.historyLength ?? 0 });
  }
  return runs.reverse();
}

describe('crawl histories', () => {
  let hs: TestHookshot;
  let site: CrawlSite;
  let client: Client;
  before(async () => {
    site = await startCrawlSite({ slowMs: 50 });
    hs = await startTestHookshot({ CRAWL_PAGES_PER_RUN: '20', WEBHOOK_RETRY_SCHEDULE: '50ms', WEBHOOK_RETRY_JITTER: '0' });
    client = await createTemporalClient(hs.temporalAddress, 'default');
  });
  after(async () => {
    await client?.connection.close();
    await hs?.close();
    await site?.close();
  });

  it('stay bounded across continue-as-new, and replay', async () => {
    // The started event fails once, so an event's own retry workflow runs too.
    const rx = await startHttpsReceiver((r, i) => (i === 0 ? { status: 500 } : { status: 200 }));
    try {
      const start = await hs.api('/v2/crawl', { method: 'POST', key: hs.keys.live, json: { url: site.url, webhook: rx.url } });
      assert.equal(start.status, 200, JSON.stringify(start.body));
      const id: string = start.body.id;
      const pages = site.expected.pages.size;
      await until(
        async () => (rx.received.some((r) => /\.completed"/.test(r.body.toString()) && r.body.includes(id)) ? true : undefined),
        180_000,
        100,
      );
      // Visibility catches up with the last continue-as-new in its own time on a busy dev server.
      await until(async () => ((await runsOf(client, crawlWorkflowId(id))).length >= Math.ceil(pages / 20) ? true : undefined), 60_000);

      // The Web UI finds it by kind and final status.
      await until(async () => {
        for await (const w of client.workflow.list({ query: `JobKind = "crawl" AND JobStatus = "completed"` }))
          if (w.workflowId === crawlWorkflowId(id)) return true;
        return undefined;
      }, 60_000);
      const crawlRuns = await runsOf(client, crawlWorkflowId(id));
      const eventRuns = await runsOf(client, crawlEventsWorkflowId(id));
      const largest = Math.max(...crawlRuns.map((r) => r.events), ...eventRuns.map((r) => r.events));
      console.log(`# ${pages} pages: ${crawlRuns.length} crawl runs, ${eventRuns.length} events runs, largest history ${largest} events`);
      assert.ok(crawlRuns.length >= Math.ceil(pages / 20), `${crawlRuns.length} crawl runs`);
      assert.ok(eventRuns.length >= 2, `${eventRuns.length} events runs`);
      // 20 pages a run: a few events each, whatever the crawl's size.
      assert.ok(largest < 400, `largest history ${largest}`);

      // Fresh histories replay against today's bundle; the crawl's content never enters them.
      const bundle = { workflowBundle: { codePath: WORKFLOW_BUNDLE } };
      const crawlHistory = await client.workflow.getHandle(crawlWorkflowId(id), crawlRuns[0]!.runId).fetchHistory();
      const eventsHistory = await client.workflow.getHandle(crawlEventsWorkflowId(id), eventRuns.at(-1)!.runId).fetchHistory();
      const startedId = JSON.parse(rx.received[0]!.body.toString()).webhookId;
      const retryHistory = await client.workflow.getHandle(eventDeliveryWorkflowId(startedId)).fetchHistory();
      for (const h of [crawlHistory, eventsHistory, retryHistory]) {
        await Worker.runReplayHistory(bundle, h);
        // Identifiers and counters only: page content stays in PostgreSQL.
        for (const e of h.events ?? []) {
          const payloads = [
            ...(e.activityTaskCompletedEventAttributes?.result?.payloads ?? []),
            ...(e.activityTaskScheduledEventAttributes?.input?.payloads ?? []),
            ...(e.markerRecordedEventAttributes?.details?.data?.payloads ?? []),
          ];
          for (const p of payloads) assert.ok((p.data?.length ?? 0) < 2048, `a ${p.data?.length}-byte payload in history`);
        }
      }
      const tag = process.env.RECORD_HISTORIES;
      if (tag) {
        writeFileSync(path.join(FIXTURES, `crawl-first-run-${tag}.json`), historyToJSON(crawlHistory));
        writeFileSync(path.join(FIXTURES, `crawl-events-last-run-${tag}.json`), historyToJSON(eventsHistory));
        writeFileSync(path.join(FIXTURES, `event-retry-${tag}.json`), historyToJSON(retryHistory));
      }
    } finally {
      await rx.close();
    }
  });
});
