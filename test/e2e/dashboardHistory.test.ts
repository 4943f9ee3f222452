// The delivery history, job and crawl pages in Chromium, against the whole
// service: real receivers (one fails first, one answers with markup), real
// scrape and screenshot jobs, a real crawl. The payload a page shows is the
// payload the receiver got, byte for byte; replays from the page make new
// attempts; stored markup stays text; another project sees 404s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import type { Browser, Page } from 'playwright-core';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { axeViolations, launchChromium, newPage, screenshot, signIn } from '../helpers/chromium';
import { startReceiver, type Received } from '../helpers/receiver';
import { startHttpsReceiver } from '../helpers/httpsReceiver';
import { startTestSite } from '../helpers/site';
import { until } from '../helpers/wait';

const XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>';
const UI = 'http://temporal-ui.test:8233';

type Mode = 'first-fails' | 'ok' | 'fail';

describe('dashboard: delivery history, job and crawl pages', () => {
  let hs: TestHookshot;
  let browser: Browser;
  let site: Awaited<ReturnType<typeof startTestSite>>;
  let rx: Awaited<ReturnType<typeof startReceiver>>;
  let mode: Mode = 'first-fails';
  let otherKey: string;
  const jobOf = (r: Received) => String(r.headers['x-scrapfly-webhook-job-id']);

  before(async () => {
    site = await startTestSite();
    rx = await startReceiver((_r, i) => {
      if (mode === 'fail' || (mode === 'first-fails' && i === 0)) return { status: 500, body: XSS, headers: { 'content-type': 'text/html' } };
      return { status: 200, body: 'ok' };
    });
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '50ms', WEBHOOK_RETRY_JITTER: '0', TEMPORAL_UI_URL: UI });
    browser = await launchChromium();
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'other', plan: 'PRO' } });
    otherKey = (await hs.api('/admin/projects/other/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
    assert.ok(otherKey);
  });
  after(async () => {
    await browser?.close();
    await hs?.close();
    await rx?.close();
    await site?.close();
  });

  const jobStatus = async (uuid: string) => (await hs.api(`/jobs/${uuid}`, { key: hs.keys.live })).body;
  const settled = (uuid: string, want: string) => until(async () => ((await jobStatus(uuid)).status === want ? true : undefined), 60_000, 50);
  const attemptsIn = async (page: Page) =>
    page.locator('li.attempt').evaluateAll((els) =>
      els.map((e) => ({
        id: Number(e.id.replace('attempt-', '')),
        text: (e.querySelector('.attempt-line') as unknown as { innerText: string }).innerText,
      })),
    );

  let jobA: string;
  let jobB: string;
  let shot: string;
  let logUrlA: string;

  it('records every attempt and shows it, payload equal to what the receiver got', async () => {
    const created = await hs.api('/webhooks', {
      method: 'POST',
      key: hs.keys.live,
      json: { name: 'orders', url: `${rx.url}/hook`, secret: 'shared-secret-value', content_encoding: 'gzip' },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));

    // A: the first attempt fails (with markup in the answer), the retry succeeds.
    const a = await hs.api(`/scrape?url=${encodeURIComponent(`${site.url}/static`)}&webhook_name=orders`, { key: hs.keys.live });
    assert.equal(a.status, 200, JSON.stringify(a.body));
    jobA = a.body.job_uuid;
    logUrlA = a.body.log_url;
    await settled(jobA, 'delivered');
    // S: a screenshot, delivered at once.
    mode = 'ok';
    const s = await hs.api(`/screenshot?url=${encodeURIComponent(`${site.url}/static`)}&webhook_name=orders&resolution=640x480`, {
      key: hs.keys.live,
    });
    assert.equal(s.status, 200, JSON.stringify(s.body));
    shot = s.body.job_uuid;
    await settled(shot, 'delivered');
    // B: fails its whole (two-attempt) ladder.
    mode = 'fail';
    jobB = (await hs.api(`/scrape?url=${encodeURIComponent(`${site.url}/static`)}&webhook_name=orders`, { key: hs.keys.live })).body.job_uuid;
    await settled(jobB, 'failed');
    mode = 'ok';

    // Stored bytes = received bytes, attempt by attempt (gzip: as on the wire).
    const { rows } = await hs.database.pool.query<{ job_id: string; body: Buffer; content_encoding: string; truncated: boolean }>(
      `SELECT a.job_id, p.body, p.content_encoding, p.truncated FROM delivery_attempts a JOIN attempt_payloads p ON p.attempt_id = a.id ORDER BY a.id`,
    );
    assert.equal(rows.length, rx.received.length);
    rows.forEach((r, i) => {
      assert.equal(r.job_id, jobOf(rx.received[i]!));
      assert.ok(r.body.equals(rx.received[i]!.body), `attempt ${i}: stored bytes are the received bytes`);
      assert.equal(r.content_encoding, 'gzip');
      assert.equal(r.truncated, false);
    });

    const page = await newPage(browser);
    const dialogs: string[] = [];
    page.on('dialog', (d) => (dialogs.push(d.message()), void d.dismiss()));
    await signIn(page, hs.apiUrl, hs.keys.live, '/dashboard/webhooks/orders');
    assert.equal(new URL(page.url()).pathname, '/dashboard/webhooks/orders');

    // Newest first: B's two failures, S, A's success, A's failure.
    const shown = await attemptsIn(page);
    assert.equal(shown.length, 5);
    assert.deepEqual(
      shown.map((x) => x.id),
      [...shown.map((x) => x.id)].sort((x, y) => y - x),
    );
    assert.deepEqual(
      shown.map((x) => /HTTP (\d+)/.exec(x.text)?.[1]),
      ['500', '500', '200', '200', '500'],
    );

    // The payload text is the pretty-printed JSON the receiver decompressed.
    const lastA = rx.received.filter((r) => jobOf(r) === jobA).at(-1)!;
    const aAttemptId = shown[3]!.id;
    const text = await page.locator(`#attempt-${aAttemptId} pre.payload-text`).textContent();
    assert.equal(text, JSON.stringify(JSON.parse(gunzipSync(lastA.body).toString('utf8')), null, 2));
    assert.match(text!, /"secret": "shared-secret-value"/, 'the payload is shown as sent (its context.webhook.secret included)');
    // Request headers are stored redacted.
    assert.match((await page.locator(`#attempt-${aAttemptId} details.req pre`).textContent())!, /x-scrapfly-webhook-secret: \[redacted\]/);

    // The screenshot's thumbnail loads (the stored image, decompressed).
    const thumb = page.locator(`#attempt-${shown[2]!.id} img.thumb`);
    assert.equal(await page.locator('img.thumb').count(), 1);
    await thumb.scrollIntoViewIfNeeded();
    await until(
      async () =>
        (await thumb.evaluate((i) =>
          (i as unknown as { complete: boolean }).complete ? (i as unknown as { naturalWidth: number }).naturalWidth : 0,
        )) > 0
          ? true
          : undefined,
      10_000,
    );
    assert.equal(await thumb.evaluate((i) => (i as unknown as { naturalWidth: number }).naturalWidth), 640);

    // The receiver's markup is text: no element made from it, no dialog.
    const aFail = shown[4]!.id;
    assert.equal(await page.locator(`#attempt-${aFail} pre.response-snippet`).textContent(), XSS);
    assert.equal(await page.locator('main script').count(), 0);
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    assert.deepEqual(dialogs, []);

    await screenshot(page, 'history-compact');
    // Open every details block for the screenshot and the checks.
    await page.locator('li.attempt details').evaluateAll((els) => els.forEach((e) => e.setAttribute('open', '')));
    assert.deepEqual(await axeViolations(page), []);
    await screenshot(page, 'history');
    const phone = await newPage(browser, 'phone');
    await signIn(phone, hs.apiUrl, hs.keys.live, '/dashboard/webhooks/orders');
    assert.deepEqual(await axeViolations(phone), []);
    await screenshot(phone, 'history-phone');
    await phone.context().close();

    // Replay one (A) from the page: 303 back with a flash, a new attempt (series 1).
    await Promise.all([page.waitForURL(/flash=replayed/), page.locator(`#attempt-${aAttemptId} button`, { hasText: 'Replay' }).click()]);
    assert.match(await page.locator('.flash-ok').innerText(), /Replay requested/);
    await until(async () => (rx.received.filter((r) => jobOf(r) === jobA).length === 3 ? true : undefined), 30_000, 50);
    await settled(jobA, 'delivered');
    // Replay all failed (B).
    await page.goto(`${hs.apiUrl}/dashboard/webhooks/orders`);
    await Promise.all([page.waitForURL(/flash=replayed-all/), page.getByRole('button', { name: /Replay all failed \(1\)/ }).click()]);
    assert.match(await page.locator('.flash-ok').innerText(), /Replay of 1 failed delivery requested/);
    await settled(jobB, 'delivered');
    await page.goto(`${hs.apiUrl}/dashboard/webhooks/orders`);
    const after = await attemptsIn(page);
    assert.equal(after.length, 7);
    assert.match(after[0]!.text, /HTTP 200/);
    assert.match(after[0]!.text, /series 1 · attempt 1/);
    assert.match(after[1]!.text, /series 1 · attempt 1/);
    assert.equal(await page.getByRole('button', { name: /Replay all failed/ }).count(), 0);
    await page.context().close();
  });

  it('pages the history by keyset, newest first', async () => {
    const page = await newPage(browser);
    await signIn(page, hs.apiUrl, hs.keys.live, '/dashboard/webhooks/orders?limit=3');
    const seen: number[] = [];
    for (;;) {
      const ids = (await attemptsIn(page)).map((x) => x.id);
      assert.ok(ids.length <= 3);
      seen.push(...ids);
      const older = page.getByRole('link', { name: 'Older →' });
      if ((await older.count()) === 0) break;
      await Promise.all([page.waitForURL(/before=/), older.click()]);
    }
    const { rows } = await hs.database.pool.query<{ id: string }>('SELECT id FROM delivery_attempts ORDER BY id DESC');
    assert.deepEqual(
      seen,
      rows.map((r) => Number(r.id)),
    );
    // And back up from the last page: the page just newer than it.
    const last = Math.floor((seen.length - 1) / 3) * 3;
    await Promise.all([page.waitForURL(/after=/), page.getByRole('link', { name: '← Newer' }).click()]);
    assert.deepEqual(
      (await attemptsIn(page)).map((x) => x.id),
      seen.slice(last - 3, last),
    );
    await page.context().close();
  });

  it('log_url opens the job page in a browser (through the login page) and stays JSON for the API', async () => {
    const path = new URL(logUrlA).pathname;
    assert.equal(path, `/jobs/${jobA}`);
    const page = await newPage(browser);
    await page.goto(`${hs.apiUrl}${path}`);
    assert.equal(new URL(page.url()).pathname, '/dashboard/login');
    assert.equal(new URL(page.url()).searchParams.get('next'), path);
    await page.getByLabel('API key').fill(hs.keys.live);
    await Promise.all([page.waitForURL((u) => u.pathname === path), page.getByRole('button', { name: 'Sign in' }).click()]);
    assert.match(await page.locator('h1').innerText(), new RegExp(jobA));
    assert.equal(await page.locator('li.attempt').count(), 3);
    assert.equal(await page.locator('a.temporal-link').getAttribute('href'), `${UI}/namespaces/default/workflows/job:${jobA}`);
    assert.deepEqual(await axeViolations(page), []);
    await screenshot(page, 'job');
    // The same page under /dashboard.
    const dash = await page.goto(`${hs.apiUrl}/dashboard/jobs/${shot}`);
    assert.equal(dash!.status(), 200);
    assert.equal(await page.locator('img.thumb').count(), 1);
    await page.context().close();

    // API clients: JSON exactly as before, with or without an Accept header.
    const json = await hs.api(path, { key: hs.keys.live });
    assert.equal(json.status, 200);
    assert.equal(json.body.uuid, jobA);
    assert.match(json.headers.get('content-type')!, /^application\/json/);
    const accepting = await hs.api(path, { key: hs.keys.live, headers: { accept: 'application/json' } });
    assert.deepEqual(Object.keys(accepting.body), Object.keys(json.body));
    // A browser-like Accept with no session goes to the login page, key or not.
    const res = await fetch(`${hs.apiUrl}${path}?key=${hs.keys.live}`, {
      headers: { accept: 'text/html,application/xhtml+xml,*/*;q=0.8' },
      redirect: 'manual',
    });
    assert.equal(res.status, 303);
    assert.match(res.headers.get('location')!, /^\/dashboard\/login\?next=%2Fjobs%2F/);
  });

  let crawlId: string;
  it('shows a crawl with its pages and events, header values withheld', async () => {
    const crx = await startHttpsReceiver();
    try {
      const start = await hs.api('/v2/crawl', {
        method: 'POST',
        key: hs.keys.live,
        json: {
          url: `${site.url}/static`,
          limit: 3,
          webhook: { url: `${crx.url}/events`, headers: { Authorization: 'Bearer receiver-token-SECRET' }, metadata: { run: 'dash' } },
        },
      });
      assert.equal(start.status, 200, JSON.stringify(start.body));
      crawlId = start.body.id;
      await until(
        async () => (crx.received.some((r) => /\.(completed|failed)$/.test(JSON.parse(r.body.toString()).event)) ? true : undefined),
        60_000,
        50,
      );
      const eventsSent = crx.received.length;

      const page = await newPage(browser);
      await signIn(page, hs.apiUrl, hs.keys.live, '/dashboard/crawls');
      assert.deepEqual(await axeViolations(page), []);
      await screenshot(page, 'crawls');
      await Promise.all([page.waitForURL(/\/dashboard\/crawls\/[0-9a-f-]{36}$/), page.locator(`a[href="/dashboard/crawls/${crawlId}"]`).click()]);
      // Wait for the events' bookkeeping (the terminal event's attempt is recorded after it is sent).
      await until(
        async () => {
          await page.reload();
          return (await page.locator('li.event').count()) === eventsSent && (await page.locator('.crawl-status').innerText()) !== 'scraping'
            ? true
            : undefined;
        },
        30_000,
        200,
      );
      const content = await page.locator('main').textContent();
      assert.ok(!content!.includes('receiver-token-SECRET'), 'a custom header value is never shown');
      assert.match(content!, /Authorization/);
      assert.ok((await page.locator('table.pages tbody tr').count()) >= 1);
      assert.match(await page.locator('table.pages').innerText(), new RegExp(`${site.url}/static`));
      const events = await page.locator('li.event > .attempt-line').allInnerTexts();
      assert.match(events[0]!, /crawl\.started/);
      assert.match(events.at(-1)!, /crawl\.completed/);
      // The event's body, pretty-printed: the bytes the receiver got.
      const first = JSON.parse(crx.received[0]!.body.toString('utf8'));
      const seq0 = page.locator('li.event').first();
      assert.equal(await seq0.locator('details.payload pre').textContent(), JSON.stringify(first, null, 2));
      await page.locator('main details').evaluateAll((els) => els.forEach((e) => e.setAttribute('open', '')));
      assert.deepEqual(await axeViolations(page), []);
      await screenshot(page, 'crawl');
      await page.context().close();
    } finally {
      await crx.close();
    }
  });

  it('another project gets 404 on the history, job, crawl and image routes', async () => {
    const page = await newPage(browser);
    await signIn(page, hs.apiUrl, otherKey);
    const { rows } = await hs.database.pool.query<{ attempt_id: string }>(
      "SELECT attempt_id FROM attempt_payloads WHERE content_type = 'image/png' LIMIT 1",
    );
    for (const path of [
      '/dashboard/webhooks/orders',
      `/dashboard/jobs/${jobA}`,
      `/jobs/${jobA}`,
      `/dashboard/crawls/${crawlId}`,
      `/dashboard/attempts/${rows[0]!.attempt_id}/payload`,
    ]) {
      const res = await page.goto(`${hs.apiUrl}${path}`);
      assert.equal(res!.status(), 404, path);
    }
    assert.equal(await page.locator('li.attempt').count(), 0);
    const list = await page.goto(`${hs.apiUrl}/dashboard/crawls`);
    assert.equal(list!.status(), 200);
    assert.equal(await page.locator(`a[href="/dashboard/crawls/${crawlId}"]`).count(), 0);
    // And a replay form posted into another project changes nothing.
    const before = rx.received.length;
    const csrf = await page.goto(`${hs.apiUrl}/dashboard/crawls`).then(() => page.locator('input[name=_csrf]').first().getAttribute('value'));
    const res = await page.request.post(`${hs.apiUrl}/dashboard/jobs/${jobA}/replay`, { form: { _csrf: csrf!, from: 'job' }, maxRedirects: 0 });
    assert.equal(res.status(), 404);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(rx.received.length, before);
    await page.context().close();
  });
});
