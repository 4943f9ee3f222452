import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver } from '../helpers/receiver';
import { verifyWithPython } from '../helpers/verify';
import { until } from '../helpers/wait';

describe('webhook management', () => {
  let hs: TestHookshot;
  let site: http.Server;
  let page: string;
  before(async () => {
    site = http.createServer((_q, s) => s.end('page'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    page = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms' });
  });
  after(async () => {
    await hs?.close();
    site?.closeAllConnections();
    await new Promise((r) => site?.close(r));
  });
  const key = () => hs.keys.live;
  const submit = async (name: string) =>
    (await hs.api(`/scrape?url=${encodeURIComponent(page)}&webhook_name=${name}`, { key: key() })).body.job_uuid as string;
  const settled = (id: string) =>
    until(async () => {
      const j = await hs.api(`/jobs/${id}`, { key: key() });
      return j.body.status === 'delivered' || j.body.status === 'failed' ? j.body : undefined;
    });

  it('updates fields, clears the secret, refuses renames and empty patches', async () => {
    await hs.api('/webhooks', { method: 'POST', key: key(), json: { name: 'edit', url: 'https://a.example/h', secret: 'one' } });
    const r = await hs.api('/webhooks/edit', {
      method: 'PATCH',
      key: key(),
      json: { url: 'https://b.example/h', content_encoding: 'gzip', standard_webhooks: true },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.url, 'https://b.example/h');
    assert.equal(r.body.content_encoding, 'gzip');
    assert.equal(r.body.standard_webhooks, true);
    assert.equal(r.body.secret, 'one');
    const cleared = await hs.api('/webhooks/edit', { method: 'PATCH', key: key(), json: { secret: null } });
    assert.equal(cleared.body.secret, null);
    const rename = await hs.api('/webhooks/edit', { method: 'PATCH', key: key(), json: { new_name: 'x' } });
    assert.equal(rename.status, 400);
    assert.match(rename.body.message, /unknown parameter "new_name"/);
    const empty = await hs.api('/webhooks/edit', { method: 'PATCH', key: key(), json: {} });
    assert.equal(empty.status, 400);
    assert.match(empty.body.message, /nothing to change/);
    const bad = await hs.api('/webhooks/edit', { method: 'PATCH', key: key(), json: { url: 'mailto:a@b' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^url: /);
    assert.equal((await hs.api('/webhooks/ghost', { method: 'PATCH', key: key(), json: { secret: 'x' } })).body.code, 'ERR::WEBHOOK::NOT_FOUND');
  });

  it('rotating the signing secret stops the old one at once', async () => {
    const receiver = await startReceiver();
    try {
      const created = await hs.api('/webhooks', { method: 'POST', key: key(), json: { name: 'rot', url: receiver.url } });
      const oldSecret = created.body.signing_secret;
      const rotated = await hs.api('/webhooks/rot/rotate-secret', { method: 'POST', key: key() });
      assert.equal(rotated.status, 200);
      const newSecret = rotated.body.signing_secret;
      assert.notEqual(newSecret, oldSecret);
      assert.match(newSecret, /^whsec_/);
      await settled(await submit('rot'));
      const got = receiver.received[0]!;
      const sig = String(got.headers['x-scrapfly-webhook-signature']);
      assert.ok((await verifyWithPython(newSecret, got.body, sig)).ok);
      assert.equal((await verifyWithPython(oldSecret, got.body, sig)).ok, false);
    } finally {
      await receiver.close();
    }
  });

  it('lists deliveries newest first, paged by cursor, filtered by status', async () => {
    const receiver = await startReceiver((_r, i) => (i % 2 === 0 ? { status: 500 } : { status: 200 }));
    try {
      await hs.api('/webhooks', { method: 'POST', key: key(), json: { name: 'pages', url: receiver.url } });
      for (let i = 0; i < 3; i++) await settled(await submit('pages'));
      // Each job: a 500 then a 200 → 6 attempts.
      const first = await hs.api('/webhooks/pages/deliveries?limit=4', { key: key() });
      assert.equal(first.status, 200);
      assert.equal(first.body.data.length, 4);
      assert.ok(first.body.next_cursor);
      const ids = first.body.data.map((d: { id: number }) => d.id);
      assert.deepEqual(
        ids,
        [...ids].sort((a: number, b: number) => b - a),
        'newest first',
      );
      const second = await hs.api(`/webhooks/pages/deliveries?limit=4&cursor=${first.body.next_cursor}`, { key: key() });
      assert.equal(second.body.data.length, 2);
      assert.equal(second.body.next_cursor, null);
      const all = [...first.body.data, ...second.body.data];
      assert.equal(new Set(all.map((d: { id: number }) => d.id)).size, 6);
      const failed = await hs.api('/webhooks/pages/deliveries?status=failed', { key: key() });
      assert.equal(failed.body.data.length, 3);
      assert.ok(failed.body.data.every((d: { success: boolean; status_code: number }) => !d.success && d.status_code === 500));
      const ok = await hs.api('/webhooks/pages/deliveries?status=success', { key: key() });
      assert.equal(ok.body.data.length, 3);
      const bad = await hs.api('/webhooks/pages/deliveries?status=maybe&limit=0', { key: key() });
      assert.equal(bad.status, 400);
      assert.match(bad.body.message, /status: .*limit: /);
    } finally {
      await receiver.close();
    }
  });

  it('refuses to delete a webhook with pending deliveries; deletes an idle one', async () => {
    const slow = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '1h' });
    const receiver = await startReceiver(() => ({ status: 500 }));
    try {
      await slow.api('/webhooks', { method: 'POST', key: slow.keys.live, json: { name: 'busy', url: receiver.url } });
      const id = (await slow.api(`/scrape?url=${encodeURIComponent(page)}&webhook_name=busy`, { key: slow.keys.live })).body.job_uuid;
      await until(async () => ((await slow.api(`/jobs/${id}`, { key: slow.keys.live })).body.status === 'retrying' ? true : undefined));
      const refused = await slow.api('/webhooks/busy', { method: 'DELETE', key: slow.keys.live });
      assert.equal(refused.status, 409);
      assert.equal(refused.body.code, 'ERR::WEBHOOK::DELIVERIES_PENDING');
      assert.equal((await slow.api('/webhooks/busy', { key: slow.keys.live })).status, 200, 'still there');

      await slow.api('/webhooks', { method: 'POST', key: slow.keys.live, json: { name: 'idle', url: receiver.url } });
      assert.equal((await slow.api('/webhooks/idle', { method: 'DELETE', key: slow.keys.live })).status, 204);
      assert.equal((await slow.api('/webhooks/idle', { key: slow.keys.live })).body.code, 'ERR::WEBHOOK::NOT_FOUND');
      assert.equal((await slow.api('/webhooks/idle', { method: 'DELETE', key: slow.keys.live })).status, 404);
    } finally {
      await slow.close();
      await receiver.close();
    }
  });
});
