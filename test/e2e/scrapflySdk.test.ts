// The official Scrapfly SDK, unchanged, pointed at Hookshot with its `host`
// option: what it parses, the error classes it picks, and its webhook
// signature check must all work as they do against Scrapfly.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { errors, ScrapeConfig, ScrapflyClient, ScreenshotConfig, verifySignature, type ScrapeResult } from 'scrapfly-sdk';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { imageInfo } from '../helpers/images';
import { freePort } from '../helpers/net';
import { startReceiver } from '../helpers/receiver';
import { startTestSite } from '../helpers/site';

/** Runs fn, which must throw; returns what it threw. */
async function thrown(fn: () => Promise<unknown>): Promise<any> {
  try {
    await fn();
  } catch (err) {
    return err;
  }
  assert.fail('expected an error');
}

/**
 * Runs fn and counts the HTTP requests it sends to base through the global
 * fetch (the SDK's retries are new fetch calls), so a test can tell one answer
 * from a retried one.
 */
async function countingRequests<T>(base: string, fn: () => Promise<T>): Promise<{ value: T; requests: number }> {
  const real = globalThis.fetch;
  let requests = 0;
  globalThis.fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (url.startsWith(base)) requests++;
    return real(input, init);
  };
  try {
    return { value: await fn(), requests };
  } finally {
    globalThis.fetch = real;
  }
}

describe('the official Scrapfly SDK as a client', () => {
  let hs: TestHookshot;
  let site: Awaited<ReturnType<typeof startTestSite>>;
  let client: ScrapflyClient;
  before(async () => {
    site = await startTestSite();
    hs = await startTestHookshot({ SCRAPE_TIMEOUT_MS: '20000' });
    client = new ScrapflyClient({ key: hs.keys.live, host: hs.apiUrl });
  });
  after(async () => {
    await hs?.close();
    await site?.close();
  });
  const scrape = async (url: string, opts: Partial<ConstructorParameters<typeof ScrapeConfig>[0]> = {}) =>
    (await client.scrape(new ScrapeConfig({ url, ...opts }))) as ScrapeResult;

  it('scrapes synchronously: a DONE result with the page, its selector and the job it ran as', async () => {
    const r = await scrape(`${site.url}/static`);
    assert.equal(r.result.status, 'DONE');
    assert.equal(r.result.success, true);
    assert.equal(r.result.status_code, 200);
    assert.match(r.result.content, /<h1>Main Title<\/h1>/);
    assert.equal(r.selector('h1').text(), 'Main Title');
    assert.equal(r.config.url, `${site.url}/static`);
    const job = await hs.api(`/jobs/${r.uuid}`, { key: hs.keys.live });
    assert.equal(job.body.status, 'done');
    assert.equal(r.result.log_url, job.body.log_url);
  });

  it('asks for formats the way Scrapfly takes them', async () => {
    const md = await scrape(`${site.url}/static`, { format: 'markdown' });
    assert.match(md.result.content, /^# Main Title$/m);
    const text = await scrape(`${site.url}/static`, { format: 'text' });
    assert.ok(text.result.content.includes('apple') && !/[<>]/.test(text.result.content));
    const json = await scrape(`${site.url}/json`, { format: 'json' });
    assert.deepEqual(json.result.content as unknown, { items: [1, 2, 3], ok: true });
    const rendered = await scrape(`${site.url}/js`, { render_js: true, wait_for_selector: '#late', format: 'text' });
    assert.match(rendered.result.content, /late arrival/);
  });

  it('takes a screenshot and reads the upstream status and final URL from the headers', async () => {
    const shot = await client.screenshot(new ScreenshotConfig({ url: `${site.url}/redirect`, format: 'png', resolution: '800x600' }));
    assert.equal(shot.metadata.extension_name, 'png');
    assert.equal(shot.metadata.upstream_status_code, 200);
    assert.equal(shot.metadata.upstream_url, `${site.url}/static`, 'the URL after the redirect');
    const info = imageInfo(Buffer.from(shot.image));
    assert.deepEqual([info.format, info.width, info.height], ['png', 800, 600]);
    const down = await client.screenshot(new ScreenshotConfig({ url: `${site.url}/status/503`, format: 'jpg' }));
    assert.equal(down.metadata.extension_name, 'jpeg');
    assert.equal(down.metadata.upstream_status_code, 503, 'an error page is still a screenshot');
  });

  it('a bad API key raises BadApiKeyError, on /scrape and on /screenshot', async () => {
    const stranger = new ScrapflyClient({ key: 'hs_live_0000000000000000000000000000000000000000', host: hs.apiUrl });
    const a = await thrown(() => stranger.scrape(new ScrapeConfig({ url: `${site.url}/static` })));
    assert.ok(a instanceof errors.BadApiKeyError, String(a));
    assert.match(a.message, /ERR::AUTH::INVALID_KEY/);
    const b = await thrown(() => stranger.screenshot(new ScreenshotConfig({ url: `${site.url}/static` })));
    assert.ok(b instanceof errors.BadApiKeyError, String(b));
  });

  it('a refused target raises the scrape error and the screenshot error', async () => {
    // 127.0.0.2 is loopback outside SCRAPE_ALLOWED_CIDRS: refused before any connection.
    const a = await thrown(() => scrape('http://127.0.0.2:4567/'));
    assert.ok(a instanceof errors.ScrapflyScrapeError, String(a));
    assert.equal(a.args.code, 'ERR::SCRAPE::ADDRESS_REFUSED');
    assert.equal(a.args.is_retryable, false);
    const b = await thrown(() => client.screenshot(new ScreenshotConfig({ url: 'http://127.0.0.2:4567/' })));
    assert.ok(b instanceof errors.ScreenshotApiError, String(b));
    const doc = JSON.parse(b.message);
    assert.equal(doc.code, 'ERR::SCREENSHOT::ADDRESS_REFUSED');
    assert.equal(doc.http_code, 422);
  });

  it('a failing target raises the upstream errors; an unreachable one a retryable scrape error', async () => {
    const server = await thrown(() => scrape(`${site.url}/status/503`));
    assert.ok(server instanceof errors.UpstreamHttpServerError, String(server));
    assert.equal(server.args.http_status_code, 503);
    assert.equal(server.args.api_response.result.content, 'maintenance', 'the page is still there');
    const clientSide = await thrown(() => scrape(`${site.url}/no-such-page`));
    assert.ok(clientSide instanceof errors.UpstreamHttpClientError, String(clientSide));
    assert.ok(!(clientSide instanceof errors.UpstreamHttpServerError));
    assert.equal(clientSide.args.http_status_code, 404);
    const closed = await freePort();
    const { value: unreachable, requests } = await countingRequests(hs.apiUrl, () => thrown(() => scrape(`http://127.0.0.1:${closed}/`)));
    assert.ok(unreachable instanceof errors.ScrapflyScrapeError, String(unreachable));
    assert.equal(unreachable.args.code, 'ERR::SCRAPE::NETWORK');
    assert.equal(unreachable.args.is_retryable, true);
    assert.equal(requests, 1, 'answered once, not sent again');
  });

  it('a screenshot of an unreachable target raises ScreenshotApiError with the code, at once: a 422, which the SDK does not send again', async () => {
    const closed = await freePort();
    const target = `http://127.0.0.1:${closed}/`;
    const { value: err, requests } = await countingRequests(hs.apiUrl, () => thrown(() => client.screenshot(new ScreenshotConfig({ url: target }))));
    assert.ok(err instanceof errors.ScreenshotApiError, String(err));
    const doc = JSON.parse(err.message);
    assert.equal(doc.code, 'ERR::SCREENSHOT::NETWORK');
    assert.equal(doc.http_code, 422);
    assert.equal(doc.retryable, true, 'the target may come back: the caller may try later');
    assert.match(doc.error_id, /^[0-9a-f-]{36}$/);
    assert.equal(requests, 1, 'answered once, not sent again');
    const { rows } = await hs.database.pool.query(`SELECT count(*)::int AS n FROM jobs WHERE kind = 'screenshot' AND params->>'url' = $1`, [target]);
    assert.equal(rows[0].n, 1, 'one job: the SDK did not submit it again');
  });

  it('a request line too long to serve raises the API client error with ERR::API::URI_TOO_LONG (414), sent once', async () => {
    const long = `${site.url}/static?q=${'a'.repeat(70 * 1024)}`;
    const a = await countingRequests(hs.apiUrl, () => thrown(() => scrape(long)));
    assert.ok(a.value instanceof errors.ApiHttpClientError, String(a.value));
    const doc = JSON.parse(a.value.message);
    assert.equal(doc.code, 'ERR::API::URI_TOO_LONG');
    assert.equal(doc.http_code, 414);
    assert.equal(doc.retryable, false);
    assert.match(doc.error_id, /^[0-9a-f-]{36}$/);
    assert.equal(a.requests, 1);
    const b = await countingRequests(hs.apiUrl, () => thrown(() => client.screenshot(new ScreenshotConfig({ url: long }))));
    assert.ok(b.value instanceof errors.ScreenshotApiError, String(b.value));
    assert.equal(JSON.parse(b.value.message).code, 'ERR::API::URI_TOO_LONG');
    assert.equal(b.requests, 1);
    // The service goes on serving.
    assert.equal((await scrape(`${site.url}/static`)).result.success, true);
  });

  it('an invalid parameter is an API client error carrying the error document', async () => {
    const err = await thrown(() => scrape(`${site.url}/static`, { format: 'clean_html' }));
    assert.ok(err instanceof errors.ApiHttpClientError, String(err));
    const doc = JSON.parse(err.message);
    assert.equal(doc.code, 'ERR::VALIDATION::INVALID_PARAMETER');
    assert.match(doc.message, /^format: /);
    assert.match(doc.error_id, /^[0-9a-f-]{36}$/);
  });

  it("verifySignature accepts a real delivery's body and signature header", async () => {
    const receiver = await startReceiver();
    try {
      const w = await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'sdk', url: receiver.url, secret: 'shared' } });
      assert.equal(w.status, 201);
      const job = await hs.api(`/scrape?url=${encodeURIComponent(`${site.url}/static`)}&webhook_name=sdk`, { key: hs.keys.live });
      assert.equal(job.status, 200, JSON.stringify(job.body));
      await receiver.waitFor(1);
      const got = receiver.received[0]!;
      const signature = String(got.headers['x-scrapfly-webhook-signature']);
      assert.equal(verifySignature(got.body, signature, w.body.signing_secret), true);
      assert.equal(got.headers['x-scrapfly-webhook-resource-type'], 'scrape');
      const tampered = Buffer.from(got.body.toString().replace('Main Title', 'Main Tit1e'));
      assert.equal(verifySignature(tampered, signature, w.body.signing_secret), false);
      assert.equal(verifySignature(got.body, signature, 'whsec_not-the-secret'), false);
    } finally {
      await receiver.close();
    }
  });
});
