// GET /notifications: real failing deliveries (a receiver answering 500)
// make the entity warn and then disable; the key's scope sees those notices
// newest first, by SPEC's kind names, paged; its own enable/disable actions
// are not notices; a deleted webhook's notices keep its name.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { startTestHookshot, type TestHookshot } from '../helpers/hookshot';
import { startReceiver, type Receiver } from '../helpers/receiver';
import { until } from '../helpers/wait';

describe('GET /notifications', () => {
  let hs: TestHookshot;
  let site: http.Server;
  let receiver: Receiver;
  let page: string;
  before(async () => {
    site = http.createServer((_q, s) => s.end('page'));
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', () => r()));
    page = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    receiver = await startReceiver(() => ({ status: 500 }));
    hs = await startTestHookshot({ WEBHOOK_RETRY_SCHEDULE: '10ms', WEBHOOK_DISABLE_AFTER: '2' });
  });
  after(async () => {
    await hs?.close();
    await receiver?.close();
    site?.closeAllConnections();
    await new Promise((r) => site?.close(r));
  });
  const key = () => hs.keys.live;

  it('lists the warning and the auto-disable, newest first, paged; manual actions are not notices', async () => {
    assert.deepEqual((await hs.api('/notifications', { key: key() })).body, { notifications: [], next_cursor: null });
    await hs.api('/webhooks', { method: 'POST', key: key(), json: { name: 'failing', url: receiver.url } });
    const job = await hs.api(`/scrape?url=${encodeURIComponent(page)}&webhook_name=failing`, { key: key() });
    assert.equal(job.status, 200, JSON.stringify(job.body));
    await until(async () => ((await hs.api('/webhooks/failing', { key: key() })).body.status === 'disabled' ? true : undefined));
    const list = await until(async () => {
      const r = await hs.api('/notifications', { key: key() });
      return r.body.notifications.length >= 2 ? r.body : undefined;
    });
    assert.deepEqual(
      list.notifications.map((n: Record<string, unknown>) => [n.kind, n.webhook_name, n.consecutive_failed_count]),
      [
        ['disabled', 'failing', 2],
        ['warning', 'failing', 1],
      ],
    );
    for (const n of list.notifications) {
      assert.deepEqual(Object.keys(n).sort(), ['consecutive_failed_count', 'created_at', 'kind', 'message', 'webhook_name']);
      assert.ok(!Number.isNaN(Date.parse(n.created_at)));
      assert.match(n.message, /"failing"/);
    }
    // Re-enable and disable by hand: recorded for the log, not notices.
    assert.equal((await hs.api('/webhooks/failing/enable', { method: 'POST', key: key() })).status, 200);
    assert.equal((await hs.api('/webhooks/failing/disable', { method: 'POST', key: key() })).status, 200);
    assert.equal((await hs.api('/notifications', { key: key() })).body.notifications.length, 2);
    // Paging by cursor.
    const first = await hs.api('/notifications?limit=1', { key: key() });
    assert.equal(first.body.notifications[0].kind, 'disabled');
    assert.equal(typeof first.body.next_cursor, 'number');
    const second = await hs.api(`/notifications?limit=1&cursor=${first.body.next_cursor}`, { key: key() });
    assert.equal(second.body.notifications[0].kind, 'warning');
    assert.equal(second.body.next_cursor, null);
    // A deleted webhook's notices stay, with its name.
    assert.equal((await hs.api('/webhooks/failing', { method: 'DELETE', key: key() })).status, 204);
    const afterDelete = (await hs.api('/notifications', { key: key() })).body.notifications;
    assert.deepEqual(
      afterDelete.map((n: { webhook_name: string }) => n.webhook_name),
      ['failing', 'failing'],
    );
    // The other environment of the same project has none.
    assert.deepEqual((await hs.api('/notifications', { key: hs.keys.test })).body.notifications, []);
  });

  it('names a bad parameter in a 400 and needs a key', async () => {
    const bad = await hs.api('/notifications?limit=0', { key: key() });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /^limit: /);
    const unknown = await hs.api('/notifications?kind=x', { key: key() });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.message, /unknown parameter "kind"/);
    assert.equal((await hs.api('/notifications')).status, 401);
  });
});
