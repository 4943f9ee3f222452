// A Scrapfly crawler end to end, as a user of the official scrapfly-sdk
// 0.11.1 runs it: the SDK starts and waits for a crawler of a loopback site
// with cycles, a robots.txt, a failing page, a slow page and a sitemap, its
// events go to a named webhook (every one of the eight names asked for), and
// then the artifacts, the dashboard's crawl page (real Chromium) and the
// Temporal Web UI's search attribute are read back.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { Crawl, CrawlerConfig, errors, parseCrawlerWebhook, ScrapflyClient, verifySignature } from 'scrapfly-sdk';
import { WARCParser } from 'warcio';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { repoRoot } from '../../src/repoRoot';
import { WORKFLOW_BUNDLE } from '../../src/worker/worker';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { startCrawlSite } from '../helpers/crawlSite';
import { axeViolations, launchChromium, newPage, screenshot, signIn } from '../helpers/chromium';
import { until } from '../helpers/wait';
import { CRAWLER_EVENTS } from '../../src/shared/names';

describe('a Scrapfly crawler through the official SDK, with its events on a named webhook', () => {
  let hs: TestHookshot;
  let site: Awaited<ReturnType<typeof startCrawlSite>>;
  let receiver: Receiver;
  let client: ScrapflyClient;
  let secret: string;

  before(async () => {
    site = await startCrawlSite({ pages: 12, slowMs: 300 });
    receiver = await startReceiver();
    hs = await startTestHookshot({ CRAWL_PAGES_PER_RUN: '10' });
    client = new ScrapflyClient({ key: hs.keys.live, host: hs.apiUrl });
    const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'crawls', url: receiver.url } });
    assert.equal(w.status, 201, JSON.stringify(w.body));
    secret = w.body.signing_secret;
  });
  after(async () => {
    await hs?.close();
    await receiver?.close();
    await site?.close();
  });

  it('crawls to DONE, delivers every event verifiable by the SDK, in order, and serves a WARC warcio reads', async () => {
    const crawl = new Crawl(
      client,
      new CrawlerConfig({
        url: site.url,
        page_limit: 200,
        use_sitemaps: true,
        content_formats: ['markdown', 'text'],
        webhook_name: 'crawls',
        webhook_events: [...CRAWLER_EVENTS],
      }),
    );
    await crawl.start();
    await crawl.wait({ pollInterval: 0.2, maxWait: 120 }).catch(async (err: unknown) => {
      const failed = await client.crawlUrls(crawl.uuid!, { status: 'failed' });
      throw new Error(`${String(err)}; failed URLs: ${JSON.stringify(failed)}`);
    });
    const status = await crawl.status(true);
    assert.equal(status.status, 'DONE');
    assert.equal(status.is_success, true);
    assert.ok(['no_more_urls', 'page_limit'].includes(String(status.state.stop_reason)), String(status.state.stop_reason));
    assert.ok(status.state.urls_visited > 5, `visited ${status.state.urls_visited}`);
    assert.ok(status.state.urls_failed >= 1, 'the site has a failing page');
    assert.ok(status.state.urls_skipped >= 1, 'robots.txt and the site bounds skip some URLs');

    // Every event has arrived once the terminal one has; none failed, so one request each.
    const events = await until(async () => {
      const got = receiver.received.map((r) => r.headers['x-scrapfly-crawl-event-name']);
      return got.at(-1) === 'crawler_finished' ? got : undefined;
    }, 60_000);
    assert.equal(events[0], 'crawler_started');
    assert.equal(events.filter((e) => e === 'crawler_finished').length, 1);
    for (const name of ['crawler_url_visited', 'crawler_url_discovered', 'crawler_url_skipped', 'crawler_url_failed']) {
      assert.ok(events.includes(name), `${name} delivered`);
    }
    const ids = new Set<string>();
    let visited = 0;
    for (const r of receiver.received) {
      assert.equal(r.headers['x-scrapfly-webhook-resource-type'], 'crawler');
      assert.equal(r.headers['x-scrapfly-webhook-job-id'], crawl.uuid);
      assert.equal(r.headers['x-scrapfly-webhook-name'], 'crawls');
      assert.ok(verifySignature(r.body, String(r.headers['x-scrapfly-webhook-signature']), secret), 'the SDK verifies the signature');
      const parsed = parseCrawlerWebhook(JSON.parse(r.body.toString('utf8')));
      assert.equal(parsed.event, r.headers['x-scrapfly-crawl-event-name']);
      assert.equal(parsed.payload.crawler_uuid, crawl.uuid);
      assert.equal(parsed.payload.env, 'LIVE');
      for (const k of ['urls_visited', 'urls_extracted', 'urls_failed', 'urls_skipped', 'urls_to_crawl', 'api_credit_used', 'duration'] as const) {
        assert.equal(typeof parsed.payload.state[k], 'number', `${parsed.event} state.${k}`);
      }
      if (parsed.event === 'crawler_url_visited') {
        visited++;
        assert.deepEqual(Object.keys(parsed.payload.scrape.content).sort(), ['markdown', 'text']);
      }
      ids.add(JSON.stringify([parsed.event, (parsed.payload as { url?: string }).url ?? '', r.body.length]));
    }
    assert.equal(visited, status.state.urls_visited, 'one crawler_url_visited per visited page');
    const finished = parseCrawlerWebhook(JSON.parse(receiver.received.at(-1)!.body.toString('utf8')));
    assert.equal(finished.payload.state.urls_visited, status.state.urls_visited, 'the terminal event carries the final state');

    // The artifacts: a WARC warcio reads (warcinfo, then request and response per fetched page), and the streaming HAR.
    const warc = Buffer.from((await client.crawlArtifact(crawl.uuid!, 'warc')).data);
    assert.equal(warc[0], 0x1f, 'gzip bytes, not inflated in transit');
    const records: Array<{ type: string; uri: string | null; status: string | null }> = [];
    for await (const rec of new WARCParser([warc])) {
      await rec.readFully();
      records.push({ type: String(rec.warcType), uri: rec.warcTargetURI ?? null, status: rec.httpHeaders?.statusCode?.toString() ?? null });
    }
    assert.equal(records[0]!.type, 'warcinfo');
    const responses = records.filter((r) => r.type === 'response');
    assert.equal(records.filter((r) => r.type === 'request').length, responses.length);
    assert.ok(responses.length >= status.state.urls_visited, `${responses.length} responses for ${status.state.urls_visited} visited pages`);
    assert.ok(responses.some((r) => r.uri === site.url));
    assert.ok(
      responses.some((r) => r.status === '500'),
      'the failing page is there with its answer',
    );
    const har = Buffer.from((await client.crawlArtifact(crawl.uuid!, 'har')).data)
      .toString('utf8')
      .trim()
      .split('\n');
    assert.equal(JSON.parse(har[0]!).log.version, '1.2');
    assert.equal(har.length - 1, responses.length, 'one HAR entry per fetched page');
    assert.ok(gunzipSync(warc).toString('latin1').startsWith('WARC/1.0\r\n'));

    // The Temporal Web UI finds it by JobKind="crawler"; no history holds page content.
    const temporal = new Client({ connection: await Connection.connect({ address: hs.temporalAddress }) });
    try {
      const found = await until(async () => {
        const ids: string[] = [];
        for await (const w of temporal.workflow.list({ query: `JobKind = "crawler" AND WorkflowId = "crawl:${crawl.uuid}"` })) ids.push(w.workflowId);
        return ids.length > 0 ? ids : undefined;
      }, 30_000);
      // One execution per run: the crawl continues as new every CRAWL_PAGES_PER_RUN pages.
      assert.deepEqual(new Set(found), new Set([`crawl:${crawl.uuid}`]));
      assert.ok(found.length > 1, `continued as new: ${found.length} runs`);
      for (const [id, fixture] of [
        [`crawl:${crawl.uuid}`, 'crawler-last-run'],
        [`crawl:${crawl.uuid}:events`, 'crawler-events-last-run'],
      ] as const) {
        const history = await temporal.workflow.getHandle(id).fetchHistory();
        const text = JSON.stringify(history);
        assert.ok(!text.includes('Page 3') && !text.includes('<html'), `${id}: no page content in its history`);
        // The crawler's shape replays against this bundle; RECORD_HISTORIES=<tag> keeps it as a fixture.
        await Worker.runReplayHistory({ workflowBundle: { codePath: WORKFLOW_BUNDLE } }, history);
        const tag = process.env.RECORD_HISTORIES;
        if (tag) writeFileSync(path.join(repoRoot(), 'test', 'fixtures', 'histories', `${fixture}-${tag}.json`), historyToJSON(history));
      }
    } finally {
      await temporal.connection.close();
    }

    // The dashboard's crawl page lists it with its events, as a person sees it.
    const browser = await launchChromium();
    try {
      const page = await newPage(browser);
      await signIn(page, hs.apiUrl, hs.keys.live, `/dashboard/crawls/${crawl.uuid}`);
      const facts = await page.locator('main dl.facts').first().innerText();
      assert.match(facts, /Scrapfly's Crawler API/);
      assert.match(facts, /DONE/);
      assert.deepEqual(await axeViolations(page), []);
      await screenshot(page, 'crawler');
      // Events come a page at a time: follow "More events" to the last.
      const items = await page.locator('li.event > .attempt-line').allInnerTexts();
      for (let more = page.getByRole('link', { name: 'More events →' }); (await more.count()) > 0;) {
        await Promise.all([page.waitForLoadState(), more.click()]);
        items.push(...(await page.locator('li.event > .attempt-line').allInnerTexts()));
      }
      assert.match(items[0]!, /crawler_started/);
      assert.match(items.at(-1)!, /crawler_finished/);
      assert.equal(items.length, receiver.received.length);
      await page.context().close();
    } finally {
      await browser.close();
    }
  });

  it('answers 409 NOT_FINISHED for the artifact of a running crawler, and cancels it within seconds', async () => {
    site.hold();
    try {
      const crawl = new Crawl(client, new CrawlerConfig({ url: site.url, page_limit: 20, webhook_name: 'crawls' }));
      await crawl.start();
      await until(async () => ((await crawl.status(true)).status === 'RUNNING' ? true : undefined));
      const err = await client.crawlArtifact(crawl.uuid!, 'warc').then(
        () => assert.fail('expected NOT_FINISHED'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof errors.ScrapflyCrawlerError, String(err));
      assert.equal((err as errors.ScrapflyCrawlerError).args.code, 'ERR::CRAWLER::NOT_FINISHED');
      assert.equal(await crawl.cancel(), true);
      const s = await crawl.status(true);
      assert.equal(s.status, 'CANCELLED');
      assert.equal(s.is_finished, true);
      assert.equal(s.is_success, false);
      // The default events: started, then cancelled last, nothing of the pages.
      const names = await until(async () => {
        const got = receiver.received
          .filter((r) => r.headers['x-scrapfly-webhook-job-id'] === crawl.uuid)
          .map((r) => r.headers['x-scrapfly-crawl-event-name']);
        return got.includes('crawler_cancelled') ? got : undefined;
      }, 60_000);
      assert.deepEqual(names, ['crawler_started', 'crawler_cancelled']);
    } finally {
      site.release();
    }
  });
});
