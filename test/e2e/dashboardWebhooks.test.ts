// The webhooks list, its forms and the notifications page, in Chromium
// against the whole service: loopback receivers get the test deliveries (and
// check their signatures with an independent verifier), scrape jobs to a
// receiver answering 500 disable a webhook through its entity, and every
// page passes axe and leaves a screenshot at desktop width (and some at
// phone width) in test/artifacts/screenshots/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Locator, Page } from 'playwright-core';
import { ADMIN_TOKEN, startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { axeViolations, launchChromium, newPage, screenshot, signIn } from '../helpers/chromium';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { verifyWithPython } from '../helpers/verify';
import { until } from '../helpers/wait';

/** Clicks and waits for the page the form (or link) leads to. */
async function follow(page: Page, target: Locator): Promise<number> {
  const [res] = await Promise.all([page.waitForNavigation(), target.click()]);
  return res?.status() ?? 0;
}

const rowOf = (page: Page, name: string) => page.locator('#webhooks tbody tr', { has: page.locator('th', { hasText: new RegExp(`^${name}$`) }) });

describe('dashboard: webhooks and notifications in Chromium', () => {
  let hs: TestHookshot;
  let browser: Browser;
  let ok: Receiver;
  let failing: Receiver;
  let slow: Receiver;
  let site: http.Server;
  let sitePage: string;
  let otherKey: string;
  let owner: Page;

  before(async () => {
    site = http.createServer((_q, s) => s.end('<html><body>page</body></html>'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    sitePage = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    ok = await startReceiver();
    failing = await startReceiver(() => ({ status: 500, body: 'boom' }));
    // Answers late, so a job to it stays pending while the test tries to delete its webhook.
    slow = await serveSlow(4000);
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms', WEBHOOK_DISABLE_AFTER: '2' });
    const admin = { authorization: `Bearer ${ADMIN_TOKEN}` };
    await hs.api('/admin/projects', { method: 'POST', headers: admin, json: { name: 'other', plan: 'PRO' } });
    otherKey = (await hs.api('/admin/projects/other/keys', { method: 'POST', headers: admin, json: { env: 'live' } })).body.key;
    browser = await launchChromium();
    owner = await newPage(browser);
    await signIn(owner, hs.apiUrl, hs.keys.live);
  });
  after(async () => {
    await browser?.close();
    await hs?.close();
    for (const r of [ok, failing, slow]) await r?.close();
    site?.closeAllConnections();
    await new Promise((r) => site?.close(r));
  });

  const checkA11y = async (page: Page, name: string) => {
    assert.deepEqual(await axeViolations(page), [], `axe on ${name}`);
    await screenshot(page, name);
  };

  it('creates, edits, tests, rotates, disables, enables and deletes through the forms', async () => {
    const page = owner;
    assert.match(await page.locator('#no-webhooks').innerText(), /No webhooks/);
    assert.match(await page.locator('#queue-use').innerText(), /0 of 10,000 pending deliveries \(ENTERPRISE plan\)/);
    await checkA11y(page, 'webhooks-empty');

    await follow(page, page.getByRole('link', { name: 'New webhook' }));
    await checkA11y(page, 'webhook-new');
    // A bad URL: the form comes back (400) with the message next to the field.
    await page.getByLabel('Name').fill('orders');
    await page.getByLabel('URL', { exact: true }).fill('ftp://nowhere');
    assert.equal(await follow(page, page.getByRole('button', { name: 'Create webhook' })), 400);
    assert.match(await page.locator('#url-error').innerText(), /http/);
    assert.equal(await page.getByLabel('URL', { exact: true }).getAttribute('aria-invalid'), 'true');
    assert.match((await page.getByLabel('URL', { exact: true }).getAttribute('aria-describedby')) ?? '', /url-error/);
    assert.equal(await page.getByLabel('Name').inputValue(), 'orders', 'posted values are kept');
    await checkA11y(page, 'webhook-new-errors');

    await page.getByLabel('URL', { exact: true }).fill(`${ok.url}/hook`);
    await page.getByLabel('Secret (optional)').fill('s3cret');
    assert.equal(await follow(page, page.getByRole('button', { name: 'Create webhook' })), 200);
    assert.equal(new URL(page.url()).pathname, '/dashboard');
    assert.match(await page.locator('.flash-ok').innerText(), /"orders" created/);
    const firstSecret = await page.locator('#revealed-secret').innerText();
    assert.match(firstSecret, /^whsec_/);
    assert.equal((await hs.api('/webhooks/orders', { key: hs.keys.live })).body.signing_secret, firstSecret);
    await checkA11y(page, 'webhooks-created');
    await page.reload();
    assert.equal(await page.locator('#revealed-secret').count(), 0, 'the secret is shown once');

    const row = rowOf(page, 'orders');
    assert.equal(await row.locator('th a').getAttribute('href'), '/dashboard/webhooks/orders');
    assert.equal(await row.locator('td[data-label="URL"]').innerText(), `${ok.url}/hook`);
    assert.equal(await row.locator('td[data-label="Status"]').innerText(), 'enabled');
    assert.equal(await row.locator('td[data-label="Consecutive failures"]').innerText(), '0');
    assert.match(await row.locator('td[data-label^="Success rate"]').innerText(), /no attempts/);
    assert.match(await page.locator('#rate-note').innerText(), /last 24 hours/);

    // Edit: new URL, Standard Webhooks on; the secret left blank stays.
    await follow(page, page.getByRole('link', { name: 'Edit orders' }));
    assert.equal(await page.getByLabel('URL', { exact: true }).inputValue(), `${ok.url}/hook`);
    await checkA11y(page, 'webhook-edit');
    await page.getByLabel('URL', { exact: true }).fill(`${ok.url}/v2`);
    await page.getByLabel('Also send Standard Webhooks headers').check();
    await follow(page, page.getByRole('button', { name: 'Save changes' }));
    assert.match(await page.locator('.flash-ok').innerText(), /"orders" saved/);
    const stored = (await hs.api('/webhooks/orders', { key: hs.keys.live })).body;
    assert.equal(stored.url, `${ok.url}/v2`);
    assert.equal(stored.standard_webhooks, true);
    assert.equal(stored.secret, 's3cret');

    // A test delivery: signed like a job's, through the guard; the outcome is on the page.
    await follow(page, page.getByRole('button', { name: 'Send test orders' }));
    assert.match(await page.locator('.flash-ok').innerText(), /Test delivery to "orders" succeeded: HTTP 200 in \d+ ms/);
    assert.match(await page.locator('#flash-facts').innerText(), /Status\s+200/);
    await checkA11y(page, 'webhook-test-result');
    assert.equal(ok.received.length, 1);
    const got = ok.received[0]!;
    assert.equal(got.url, '/v2');
    assert.equal(got.headers['x-scrapfly-webhook-name'], 'orders');
    assert.equal(got.headers['x-scrapfly-webhook-secret'], 's3cret');
    assert.equal(got.headers['x-scrapfly-webhook-resource-type'], 'test');
    assert.ok(got.headers['webhook-signature'], 'Standard Webhooks headers as configured');
    const verdict = await verifyWithPython(firstSecret, got.body, String(got.headers['x-scrapfly-webhook-signature']));
    assert.ok(verdict.ok, verdict.output);
    assert.equal(JSON.parse(got.body.toString()).test, true);

    // Rotate: the new secret once, on the page after the redirect, never in the URL.
    await follow(page, page.getByRole('button', { name: 'Rotate secret orders' }));
    const rotated = await page.locator('#revealed-secret').innerText();
    assert.match(rotated, /^whsec_/);
    assert.notEqual(rotated, firstSecret);
    assert.ok(!page.url().includes(encodeURIComponent(rotated)) && !page.url().includes(rotated));
    assert.equal((await hs.api('/webhooks/orders', { key: hs.keys.live })).body.signing_secret, rotated);
    await checkA11y(page, 'webhook-rotated');
    await page.reload();
    assert.equal(await page.locator('#revealed-secret').count(), 0, 'not again on reload');
    assert.ok(!(await page.content()).includes(rotated));
    await follow(page, page.getByRole('button', { name: 'Send test orders' }));
    const second = ok.received[1]!;
    assert.ok(
      (await verifyWithPython(rotated, second.body, String(second.headers['x-scrapfly-webhook-signature']))).ok,
      'signed with the new secret',
    );

    // Disable and enable go through the entity.
    await follow(page, page.getByRole('button', { name: 'Disable orders' }));
    assert.equal(await rowOf(page, 'orders').locator('td[data-label="Status"]').innerText(), 'disabled (by hand)');
    assert.equal((await hs.api('/webhooks/orders', { key: hs.keys.live })).body.disabled_reason, 'manual');
    await follow(page, page.getByRole('button', { name: 'Enable orders' }));
    assert.equal(await rowOf(page, 'orders').locator('td[data-label="Status"]').innerText(), 'enabled');
    assert.equal((await hs.api('/webhooks/orders', { key: hs.keys.live })).body.status, 'enabled');

    // Delete, after a confirmation page.
    await follow(page, page.getByRole('link', { name: 'Delete orders' }));
    assert.match(await page.locator('h1').innerText(), /Delete webhook orders\?/);
    await checkA11y(page, 'webhook-delete-confirm');
    await follow(page, page.getByRole('button', { name: 'Delete orders' }));
    assert.match(await page.locator('.flash-ok').innerText(), /"orders" deleted/);
    assert.equal(await rowOf(page, 'orders').count(), 0);
    assert.equal((await hs.api('/webhooks/orders', { key: hs.keys.live })).status, 404);
  });

  it('refuses to delete a webhook with pending deliveries, and says why', async () => {
    const page = owner;
    await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'busy', url: slow.url } });
    const job = await hs.api(`/scrape?url=${encodeURIComponent(sitePage)}&webhook_name=busy`, { key: hs.keys.live });
    assert.equal(job.status, 200, JSON.stringify(job.body));
    await page.goto(`${hs.apiUrl}/dashboard`);
    assert.match(await page.locator('#queue-use').innerText(), /1 of 10,000/);
    await page.goto(`${hs.apiUrl}/dashboard/webhooks/busy/delete`);
    await follow(page, page.getByRole('button', { name: 'Delete busy' }));
    assert.match(await page.locator('.flash-error').innerText(), /Not deleted: webhook "busy" still has 1 pending deliveries/);
    assert.equal(await rowOf(page, 'busy').count(), 1);
    await checkA11y(page, 'webhooks-delete-refused');
  });

  it('shows stored names and URLs as text, never as markup', async () => {
    const page = owner;
    const evil = `http://127.0.0.1:9/?q=<script>document.title='pwned'</script>"><img src=x id=injected>`;
    await page.goto(`${hs.apiUrl}/dashboard/webhooks/new`);
    await page.getByLabel('Name').fill('x-script_1');
    await page.getByLabel('URL', { exact: true }).fill(evil);
    await follow(page, page.getByRole('button', { name: 'Create webhook' }));
    const row = rowOf(page, 'x-script_1');
    assert.equal(await row.locator('td[data-label="URL"]').innerText(), evil);
    assert.equal(await page.locator('script').count(), 0);
    assert.equal(await page.locator('#injected').count(), 0);
    assert.notEqual(await page.title(), 'pwned');
    // The edit form echoes it inside an attribute, still inert.
    await follow(page, page.getByRole('link', { name: 'Edit x-script_1' }));
    assert.equal(await page.getByLabel('URL', { exact: true }).inputValue(), evil);
    assert.equal(await page.locator('script, #injected').count(), 0);
  });

  it('another project sees none of it, and a form without its token changes nothing', async () => {
    const other = await newPage(browser);
    await signIn(other, hs.apiUrl, otherKey);
    assert.equal(await other.locator('#webhooks').count(), 0);
    assert.ok(!(await other.content()).includes('x-script_1'));
    for (const path of ['/dashboard/webhooks/x-script_1/edit', '/dashboard/webhooks/x-script_1/delete']) {
      const res = await other.goto(`${hs.apiUrl}${path}`);
      assert.equal(res?.status(), 404, path);
      assert.match(await other.locator('h1').innerText(), /Not found/);
    }
    await checkA11y(other, 'webhook-not-found');
    // With the outsider's own valid token: still not found, nothing changed.
    const csrf = await (await other.goto(`${hs.apiUrl}/dashboard/webhooks/new`))!.text().then((t) => /name="_csrf" value="([^"]+)"/.exec(t)![1]!);
    for (const action of ['disable', 'rotate-secret', 'delete', 'test']) {
      const r = await other.request.post(`${hs.apiUrl}/dashboard/webhooks/x-script_1/${action}`, { form: { _csrf: csrf }, maxRedirects: 0 });
      assert.equal(r.status(), 404, action);
    }
    const before = (await hs.api('/webhooks/x-script_1', { key: hs.keys.live })).body;
    assert.equal(before.status, 'enabled');
    // The owner's own session, but no token (or a wrong one): 403.
    for (const form of [{}, { _csrf: 'forged' }] as Array<Record<string, string>>) {
      const r = await owner.request.post(`${hs.apiUrl}/dashboard/webhooks/x-script_1/disable`, { form, maxRedirects: 0 });
      assert.equal(r.status(), 403);
      assert.match(await r.text(), /security token/);
    }
    const created = await owner.request.post(`${hs.apiUrl}/dashboard/webhooks/new`, { form: { name: 'sneaky', url: ok.url }, maxRedirects: 0 });
    assert.equal(created.status(), 403);
    assert.deepEqual((await hs.api('/webhooks/x-script_1', { key: hs.keys.live })).body, before);
    assert.equal((await hs.api('/webhooks/sneaky', { key: hs.keys.live })).status, 404);
    await other.context().close();
  });

  it('shows the warning and the auto-disable on the notifications page and in the API, and re-enables from the list', async () => {
    const page = owner;
    await page.goto(`${hs.apiUrl}/dashboard/notifications`);
    assert.match(await page.locator('#no-notices').innerText(), /No notifications/);
    await hs.api('/webhooks', { method: 'POST', key: hs.keys.live, json: { name: 'flaky', url: failing.url } });
    const job = await hs.api(`/scrape?url=${encodeURIComponent(sitePage)}&webhook_name=flaky&key=${hs.keys.live}`);
    assert.equal(job.status, 200, JSON.stringify(job.body));
    await until(async () => ((await hs.api('/webhooks/flaky', { key: hs.keys.live })).body.status === 'disabled' ? true : undefined));
    const api = await until(async () => {
      const r = (await hs.api('/notifications', { key: hs.keys.live })).body;
      return r.notifications.length >= 2 ? r : undefined;
    });
    assert.deepEqual(
      api.notifications.map((n: { kind: string; webhook_name: string; consecutive_failed_count: number }) => [
        n.kind,
        n.webhook_name,
        n.consecutive_failed_count,
      ]),
      [
        ['disabled', 'flaky', 2],
        ['warning', 'flaky', 1],
      ],
    );

    await page.goto(`${hs.apiUrl}/dashboard/notifications`);
    const rows = page.locator('#notifications tbody tr');
    assert.equal(await rows.count(), 2);
    assert.match(await rows.nth(0).innerText(), /Disabled[\s\S]*flaky[\s\S]*2[\s\S]*disabled after 2 consecutive failed deliveries/);
    assert.match(await rows.nth(1).innerText(), /Warning[\s\S]*flaky[\s\S]*1[\s\S]*failed 1 time in a row/);
    assert.equal(await rows.nth(0).locator('a').getAttribute('href'), '/dashboard/webhooks/flaky');
    await checkA11y(page, 'notifications');
    const phone = await newPage(browser, 'phone');
    await signIn(phone, hs.apiUrl, hs.keys.live, '/dashboard/notifications');
    assert.deepEqual(await axeViolations(phone), []);
    await screenshot(phone, 'notifications-phone');

    // The list shows it disabled for its failures, with its success rate; re-enable from there.
    await page.goto(`${hs.apiUrl}/dashboard`);
    const row = rowOf(page, 'flaky');
    assert.equal(await row.locator('td[data-label="Status"]').innerText(), 'disabled (after 2 consecutive failures)');
    assert.equal(await row.locator('td[data-label="Consecutive failures"]').innerText(), '2');
    assert.equal(await row.locator('td[data-label^="Success rate"]').innerText(), '0% (0/2)');
    await checkA11y(page, 'webhooks-list');
    await phone.goto(`${hs.apiUrl}/dashboard`);
    assert.deepEqual(await axeViolations(phone), []);
    await screenshot(phone, 'webhooks-list-phone');
    const overflow = await phone.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok((overflow as number) <= 0, `no sideways scrolling at phone width (${overflow}px)`);
    await follow(page, page.getByRole('button', { name: 'Enable flaky' }));
    assert.match(await page.locator('.flash-ok').innerText(), /"flaky" enabled/);
    assert.equal(await rowOf(page, 'flaky').locator('td[data-label="Status"]').innerText(), 'enabled');
    assert.equal(await rowOf(page, 'flaky').locator('td[data-label="Consecutive failures"]').innerText(), '0');
    // Enabling is not a notice.
    assert.equal((await hs.api('/notifications', { key: hs.keys.live })).body.notifications.length, 2);
    await phone.context().close();
  });
});

/** A receiver that answers 200 only after `ms`. */
async function serveSlow(ms: number): Promise<Receiver> {
  const { serveRecorder } = await import('../helpers/receiver');
  return serveRecorder('http', (handler) =>
    http.createServer((req, res) => {
      setTimeout(() => handler(req, res), ms);
    }),
  );
}
